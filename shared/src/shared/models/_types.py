"""Column helpers shared by the model modules."""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Identity, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import mapped_column

BigPK = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
IntPK = Annotated[int, mapped_column(Identity(), primary_key=True)]
Money = Annotated[int, mapped_column(BigInteger, nullable=False, default=0, server_default="0")]
"""Money is integer fen (1/100 yuan); data is integer MB; never floats."""

JSON = JSONB


def stamped_at() -> Any:
    """`updated_at` kept by the `tenure_stamp_updated_at` trigger (migration 0008i) on every insert
    and update, whichever code path writes the row: the nightly engine's change detection reads it."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
