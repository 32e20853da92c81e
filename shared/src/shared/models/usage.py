"""Monthly usage and bill per customer, range-partitioned by month.

Partitions are created by `shared.db.partitions.ensure_usage_partitions`; a DEFAULT partition
catches anything outside them.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, PrimaryKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._types import Money


class MonthlyUsage(Base):
    """One row per customer per month: usage, allowance use, spend lines and the bill (fen)."""

    __tablename__ = "monthly_usage"
    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "month"),
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
