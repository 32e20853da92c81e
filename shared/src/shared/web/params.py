"""Request-parameter formats shared by the four services.

Numbers in JSON bodies are strict integers with both bounds: `true`, `1.0` and `"10"` are 422,
never coerced (a boolean once spent 1 point). Narrow a type with another `Annotated` layer —
`Annotated[Points, Field(ge=1)]` — not with `= Field(ge=1)` on the field: pydantic lets the
type's own bounds win over a field's, silently.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StrictInt

# YYYY-MM with a year from 1000: `date` has no year 0, and "0000-01" once reached a handler as a 500.
MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"

MAX_FEN = 100_000_000        # ¥1,000,000: above any price, bill, top-up or budget a request moves at once
MAX_POINTS = 10_000_000
MAX_MB = 10_000_000
MAX_COUNT = 1_000_000        # stock, limits, quantities, priorities
INT4_MAX = 2_147_483_647     # `integer` id columns
BIGINT_ID_MAX = 2**62        # `bigint` id columns (customers, tasks)

Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN)]
Points = Annotated[StrictInt, Field(ge=0, le=MAX_POINTS)]
DataMb = Annotated[StrictInt, Field(ge=0, le=MAX_MB)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
Id = Annotated[StrictInt, Field(ge=1, le=INT4_MAX)]
BigId = Annotated[StrictInt, Field(ge=1, le=BIGINT_ID_MAX)]


def first_of_month(value: str) -> date:
    """The first day of a month given as YYYY-MM (already checked against MONTH)."""
    return date.fromisoformat(f"{value}-01")
