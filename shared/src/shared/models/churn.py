"""Churn early-warning models: every trained version, its metrics and artifact; one is active."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    Date,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, IntPK


class ChurnModel(CreatedAt, Base):
    __tablename__ = "churn_models"
    id: Mapped[IntPK]
    version: Mapped[int] = mapped_column(unique=True)
    algorithm: Mapped[str] = mapped_column(String(60))
    train_from: Mapped[date | None] = mapped_column(Date)
    train_to: Mapped[date | None] = mapped_column(Date)
    features: Mapped[list] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON)
    factor_ranking: Mapped[list] = mapped_column(JSON, default=list)
    artifact: Mapped[bytes | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=False)
