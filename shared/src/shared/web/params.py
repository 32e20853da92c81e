"""Request-parameter formats shared by the four services."""
from __future__ import annotations

from datetime import date

# YYYY-MM with a year from 1000: `date` has no year 0, and "0000-01" once reached a handler as a 500.
MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"


def first_of_month(value: str) -> date:
    """The first day of a month given as YYYY-MM (already checked against MONTH)."""
    return date.fromisoformat(f"{value}-01")
