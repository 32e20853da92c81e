"""What the retention engine reads and writes: tags, profiles, churn models, strategies,
recommendations, campaigns, care tasks, touches, holidays, key-moment events and engine runs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK, Money


class TagDefinition(CreatedAt, Base):
    """A declarative tag: `rule` is a JSON condition tree compiled to SQL by a whitelist compiler."""

    __tablename__ = "tag_definitions"
    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    family: Mapped[str] = mapped_column(String(20), index=True)  # basic/stability/preference/channel
    description: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[dict] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(default=1)
    # customers holding the tag after the last nightly run (kept here: counting live would scan
    # every customer's tag set on each back-office page)
    customers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerTagSet(Base):
    """A customer's current tags: one row per customer holding the sorted tag ids.

    One row per customer, not per (customer, tag): the nightly run re-derives ~30 of 191 tags for
    each of millions of customers, and a million short rows cost a fraction of thirty million
    index entries and foreign-key checks. No request asks an index for "everyone with tag X":
    campaigns and strategy matching scan in bulk, the manager app joins by customer. Ids of
    deleted definitions fall out at the next run (readers join tag_definitions).
    """

    __tablename__ = "customer_tag_sets"
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), primary_key=True)
    tag_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{}'"))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))  # first tagged
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class CustomerTagHistory(Base):
    __tablename__ = "customer_tag_history"
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_definitions.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(8))  # gained / lost
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("engine_runs.id"))


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
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), index=True
    )


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


class Strategy(CreatedAt, Base):
    """Maps a condition (segment / tags / stage / tier) to an offer, a channel and a script."""

    __tablename__ = "strategies"
    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(120))
    condition: Mapped[dict] = mapped_column(JSON)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    channel: Mapped[str] = mapped_column(String(20))
    script: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Recommendation(CreatedAt, Base):
    __tablename__ = "recommendations"
    __table_args__ = (
        Index(
            "uq_recommendations_open",
            "customer_id",
            "strategy_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    channel: Mapped[str] = mapped_column(String(20))
    script: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float, default=0)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open/accepted/dismissed/expired
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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


class CampaignMember(Base):
    __tablename__ = "campaign_members"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "customer_id"),)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    holdout: Mapped[bool] = mapped_column(Boolean)
    baseline_arpu_fen: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class CareTask(CreatedAt, Base):
    __tablename__ = "care_tasks"
    __table_args__ = (
        Index("ix_care_tasks_manager_status_due", "manager_id", "status", "due_on"),
        Index("ix_care_tasks_manager_id_updated_at", "manager_id", "updated_at"),
        # overdue open tasks per customer, counted for every row of a manager's list: an
        # index-only probe instead of a heap visit per task
        Index("ix_care_tasks_open_customer_due", "customer_id", "due_on",
              postgresql_where=text("status IN ('open', 'in_progress')")),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # routine/birthday/holiday/churn/four_high/key_moment/campaign
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    script: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open/in_progress/done/cancelled
    outcome: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), index=True
    )


class Touch(CreatedAt, Base):
    """Every contact with a customer, whatever the channel: the basis of all tracking reports."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_customer_id_occurred_at", "customer_id", "occurred_at"),
        Index(
            "uq_touches_key",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))  # hall/outbound_call/sms/app_push/hotline/partner_app/manager_visit
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"))
    recommendation_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("recommendations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    outcome: Mapped[str] = mapped_column(String(30))
    cost_fen: Mapped[Money]
    notes: Mapped[str | None] = mapped_column(Text)
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(160))


class Holiday(CreatedAt, Base):
    __tablename__ = "holidays"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    greeting_template: Mapped[str] = mapped_column(Text)


class KeyMomentEvent(CreatedAt, Base):
    __tablename__ = "key_moment_events"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(80))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict] = mapped_column(JSON, default=dict)


class EngineRun(CreatedAt, Base):
    __tablename__ = "engine_runs"
    id: Mapped[IntPK]
    run_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class EngineRunStage(Base):
    __tablename__ = "engine_run_stages"
    __table_args__ = (PrimaryKeyConstraint("run_id", "stage"),)
    run_id: Mapped[int] = mapped_column(ForeignKey("engine_runs.id"))
    stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
