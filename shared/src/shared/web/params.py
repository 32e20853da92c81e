"""Request-parameter formats shared by the four services.

Numbers in JSON bodies are strict integers with both bounds: `true`, `1.0` and `"10"` are 422,
never coerced (a boolean once spent 1 point). Narrow a type with another `Annotated` layer —
`Annotated[Points, Field(ge=1)]` — not with `= Field(ge=1)` on the field: pydantic lets the
type's own bounds win over a field's, silently. Ids in bodies are `RefId` (integer keys) and
`BigRefId` (bigint keys).

Every integer path or query parameter takes one of the types below (tests/services/test_int_params.py
walks every route), so a number the database column cannot hold is a 422 `validation_error` before
any SQL runs. Pick the type by the column the value is compared with: `Id` for bigint keys
(customers, coupons, subscriptions, care tasks, audit entries, ledger rows…), `IntId` for integer
keys (products, merchants, offers, staff, org units, campaigns, hunts, ads, runs, imports…). They are
plain constraints, not Path()/Query(), so one type serves a path, a query, `| None` and `list[...]`
(path and query values arrive as text, so these are not strict).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import Field, StrictInt

INT_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint

Id = Annotated[int, Ge(1), Le(BIGINT_MAX)]
IntId = Annotated[int, Ge(1), Le(INT_MAX)]
# keyset cursors: "rows after this id", 0 = from the start
After = Annotated[int, Ge(0), Le(BIGINT_MAX)]
IntAfter = Annotated[int, Ge(0), Le(INT_MAX)]

# YYYY-MM with a year from 1000: `date` has no year 0, and "0000-01" once reached a handler as a 500.
MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"

MAX_FEN = 100_000_000  # ¥1,000,000: above any price, bill, top-up or budget a request moves at once
MAX_POINTS = 10_000_000
MAX_MB = 10_000_000
MAX_COUNT = 1_000_000  # stock, limits, quantities, priorities

Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN)]
PositiveFen = Annotated[StrictInt, Field(ge=1, le=MAX_FEN)]
"""an amount that moves money (a top-up): zero is not a request, and a ledger leg is never zero"""
Points = Annotated[StrictInt, Field(ge=0, le=MAX_POINTS)]
DataMb = Annotated[StrictInt, Field(ge=0, le=MAX_MB)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
RefId = Annotated[StrictInt, Field(ge=1, le=INT_MAX)]
BigRefId = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]


def first_of_month(value: str) -> date:
    """The first day of a month given as YYYY-MM (already checked against MONTH)."""
    return date.fromisoformat(f"{value}-01")
