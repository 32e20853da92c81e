"""Campaigns and their members, snapshotted at launch (hold-out flag, baseline ARPU, branch, manager, tier)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, IntPK, Money


class Campaign(CreatedAt, Base):
    __tablename__ = "campaigns"
    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[dict] = mapped_column(JSON)
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id"))
    channel: Mapped[str] = mapped_column(String(20))
    flow: Mapped[str] = mapped_column(String(20), default="app")  # app / manager_task / outbound
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    holdout_pct: Mapped[int] = mapped_column(default=10)
    cost_per_touch_fen: Mapped[Money]
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When members were drawn: the report measures from here, never from `starts_on`."""
    target_retention_uplift: Mapped[float | None] = mapped_column(Float)
    """The retention effect the campaign is meant to have (0.02 = +2 pp); None: the programme default."""
    target_arpu_uplift_fen: Mapped[int | None] = mapped_column(BigInteger)
    """The monthly ARPU effect it is meant to have (fen); None: the programme default."""


class CampaignMember(Base):
    __tablename__ = "campaign_members"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "customer_id"),)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    holdout: Mapped[bool] = mapped_column(Boolean)
    baseline_arpu_fen: Mapped[int | None] = mapped_column(BigInteger)
    """Mean monthly bill of the three months before the launch month (a month without a bill is 0)."""
    # the member as they were at launch (a later move of branch, manager or tier changes nothing here)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    tier: Mapped[str | None] = mapped_column(String(12))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
