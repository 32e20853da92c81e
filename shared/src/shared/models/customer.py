"""Subscribers and the raw facts about them: handsets, complaints, competitor-hotline calls.

Every table that belongs to a customer carries `customer_id`, the future sharding key.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CHURNED = "churned"


class Tier(StrEnum):
    STAR1 = "star1"
    STAR2 = "star2"
    STAR3 = "star3"
    STAR4 = "star4"
    STAR5 = "star5"
    GOLD = "gold"
    DIAMOND = "diamond"


TIER_ORDER = [t.value for t in Tier]
VIP_TIERS = {Tier.STAR5.value, Tier.GOLD.value, Tier.DIAMOND.value}


class Customer(CreatedAt, Base):
    """One subscriber. `phone` and `id_number` are stored whole and masked on every way out."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_branch_id_tier", "branch_id", "tier"),
        Index("ix_customers_phone_last4", "phone_last4"),
        Index("ix_customers_branch_id_id", "branch_id", "id"),
        Index("ix_customers_updated_at_brin", "updated_at", postgresql_using="brin"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    phone_last4: Mapped[str] = mapped_column(String(4))
    id_number: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(1))
    birthday: Mapped[date | None] = mapped_column(Date)
    join_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    churned_on: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(12), default="star1", server_default="star1")
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    contract_end: Mapped[date | None] = mapped_column(Date)
    do_not_disturb: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), index=True
    )


class Handset(CreatedAt, Base):
    __tablename__ = "handsets"
    __table_args__ = (Index("ix_handsets_updated_at_brin", "updated_at", postgresql_using="brin"),)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    """set by the feeds when the row changes: the incremental night recomputes only customers changed since its watermark"""
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    brand: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(60))
    price_band: Mapped[str] = mapped_column(String(12))  # low / mid / high / flagship
    dual_sim: Mapped[bool] = mapped_column(Boolean, default=False)
    started_on: Mapped[date] = mapped_column(Date)


class Complaint(CreatedAt, Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_updated_at_brin", "updated_at", postgresql_using="brin"),)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    """set by the feeds when the row changes: the incremental night recomputes only customers changed since its watermark"""
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    category: Mapped[str] = mapped_column(String(20))  # network / tariff / service / billing
    channel: Mapped[str] = mapped_column(String(20), default="hotline")
    resolved: Mapped[bool] = mapped_column(Boolean, default=True)
    satisfaction: Mapped[int | None] = mapped_column()  # 1..5


class CompetitorCall(CreatedAt, Base):
    """Calls to a competitor's customer-service hotline: a strong churn signal (seed 000)."""

    __tablename__ = "competitor_calls"
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    """set by the feeds when the row changes: the incremental night recomputes only customers changed since its watermark"""
    __table_args__ = (
        Index(
            "uq_competitor_calls_source_ref", "source_ref", unique=True, postgresql_where=text("source_ref IS NOT NULL")
        ),
        Index("ix_competitor_calls_updated_at_brin", "updated_at", postgresql_using="brin"),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    competitor: Mapped[str] = mapped_column(String(20))
    duration_s: Mapped[int] = mapped_column(default=0)
    source_ref: Mapped[str | None] = mapped_column(String(80))
    """the operator system's record id (the feed is idempotent by it); NULL for demo rows"""
