"""Monthly usage and bill per customer, range-partitioned by month.

Partitions are created by `shared.db.partitions.ensure_usage_partitions`; a DEFAULT partition
catches anything outside them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import BigPK, Money


class MonthlyUsage(Base):
    """One row per customer per month: usage, allowance use, spend lines and the bill (fen)."""

    __tablename__ = "monthly_usage"
    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "month"),
        Index("ix_monthly_usage_updated_at_brin", "updated_at", postgresql_using="brin"),
        {"postgresql_partition_by": "RANGE (month)"},
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    plan_id: Mapped[int | None] = mapped_column(Integer)
    voice_min: Mapped[int] = mapped_column(Integer, default=0)
    data_mb: Mapped[int] = mapped_column(Integer, default=0)
    sms: Mapped[int] = mapped_column(Integer, default=0)
    voice_allowance_min: Mapped[int] = mapped_column(Integer, default=0)
    data_allowance_mb: Mapped[int] = mapped_column(Integer, default=0)
    roaming_fen: Mapped[Money]
    long_distance_fen: Mapped[Money]
    payg_data_fen: Mapped[Money]
    plan_fee_fen: Mapped[Money]
    addon_fee_fen: Mapped[Money]
    other_fee_fen: Mapped[Money]
    bill_fen: Mapped[Money]
    topup_fen: Mapped[Money]
    topup_count: Mapped[int] = mapped_column(Integer, default=0)
    balance_end_fen: Mapped[Money]
    broadband_gb: Mapped[int] = mapped_column(Integer, default=0)
    active_days: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    """set by the import when the row changes: the incremental night rescores only what changed"""


class DailyUsage(Base):
    """One row per customer per day (the billing system's daily summary): the month-to-date
    rows feed the four-high daily list (shared.engine.fourhigh); amounts in fen, data in MB."""

    __tablename__ = "daily_usage"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "day"),)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    day: Mapped[date] = mapped_column(Date)
    voice_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    data_mb: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    roaming_fen: Mapped[Money]
    long_distance_fen: Mapped[Money]
    payg_data_fen: Mapped[Money]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Topup(CreatedAt, Base):
    """One top-up or bill payment from the billing system (the topups feed), keyed by its record id.

    The month's totals (`monthly_usage.topup_fen`, `topup_count`) are rolled up from these rows
    when a feed loads, for months that have a usage row.
    """

    __tablename__ = "topups"
    __table_args__ = (
        UniqueConstraint("source_ref", name="uq_topups_source_ref"),
        Index("ix_topups_customer_id_paid_at", "customer_id", "paid_at"),
    )
    id: Mapped[BigPK]
    source_ref: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12), default="topup", server_default="topup")  # topup / payment
    channel: Mapped[str | None] = mapped_column(String(20))
