"""Ledger errors. A refusal tells the user what they need, never internal account ids."""

from __future__ import annotations

from shared.errors import Conflict, IdempotencyKeyReused, InsufficientFunds

__all__ = ["Conflict", "IdempotencyKeyReused", "InsufficientFunds", "UnbalancedTransaction", "insufficient_funds"]

# Accounts the operator holds (issuance, budgets, prize pools): their balances are not the
# caller's business, so a refusal names only the asset.
_OPERATOR_KINDS = frozenset({"system", "prize_pool"})


class UnbalancedTransaction(ValueError):
    """A programming error: legs of one asset must sum to zero."""


def insufficient_funds(*, asset: str, kind: str, balance: int, required: int) -> InsufficientFunds:
    """402 for a debit that would overdraw: asset, balance, required and shortfall for an owner's
    own account (customer, merchant, staff); only the asset for an operator budget."""
    if kind in _OPERATOR_KINDS:
        return InsufficientFunds("the budget for this is used up for now", asset=asset)
    return InsufficientFunds(
        "balance too low", asset=asset, balance=balance, required=required, shortfall=max(0, required - balance)
    )
