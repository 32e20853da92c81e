"""Customer points on the shared ledger: earn, spend, expire by earning date, monthly accrual."""
