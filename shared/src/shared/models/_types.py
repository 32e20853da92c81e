"""Column helpers shared by the model modules."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import BigInteger, Identity
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import mapped_column

BigPK = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
IntPK = Annotated[int, mapped_column(Identity(), primary_key=True)]
Money = Annotated[int, mapped_column(BigInteger, nullable=False, default=0, server_default="0")]
"""Money is integer fen (1/100 yuan); data is integer MB; never floats."""

JSON = JSONB
