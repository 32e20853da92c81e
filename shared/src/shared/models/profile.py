"""What the nightly engine concludes per customer: profile (stage, segment, risk), four-high flags,
and the tier rules it applies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, IntPK


class TierRule(CreatedAt, Base):
    """A customer gets the highest tier whose every threshold they meet."""

    __tablename__ = "tier_rules"
    id: Mapped[IntPK]
    tier: Mapped[str] = mapped_column(String(12), unique=True)
    rank: Mapped[int] = mapped_column()
    min_tenure_months: Mapped[int] = mapped_column(default=0)
    min_avg_bill_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    benefits: Mapped[list] = mapped_column(JSON, default=list)


class CustomerProfile(Base):
    """Per-customer output of the nightly engine: stage, segment, risk, four-high, channel."""

    __tablename__ = "customer_profiles"
    __table_args__ = (
        Index("ix_customer_profiles_risk_level", "risk_level"),
        Index("ix_customer_profiles_segment", "segment"),
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), primary_key=True)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(12))
    segment: Mapped[str | None] = mapped_column(String(30))
    sub_segment: Mapped[str | None] = mapped_column(String(30))
    cluster_id: Mapped[int | None] = mapped_column(Integer)
    churn_score: Mapped[float | None] = mapped_column(Float)
    warning_coefficient: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[str | None] = mapped_column(String(8))  # low / medium / high
    # expected fall in churn probability if contacted (uplift model from campaign hold-outs)
    uplift_score: Mapped[float | None] = mapped_column(Float)
    top_factors: Mapped[list] = mapped_column(JSON, default=list)
    four_high: Mapped[list] = mapped_column(JSON, default=list)
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    arpu_fen: Mapped[int | None] = mapped_column(BigInteger)
    model_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"), index=True)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """moved by the churn stage alone, when a score changes (the profiles stage's changed-set)"""


class FourHighFlag(Base):
    """One row per customer, anomaly kind and period (day or month) it was flagged."""

    __tablename__ = "four_high_flags"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "kind", "period"),)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(20))  # tariff / payg_data / silence / arpu_mismatch
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    cared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    normalised_on: Mapped[date | None] = mapped_column(Date)
