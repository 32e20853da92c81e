"""Tables owned by the nightly retention engine: the per-customer feature view and the
behavioural clusters fitted on a sample of it.

`engine_runs` / `engine_run_stages` record every nightly run and its stages.

`customer_features` is UNLOGGED: it is a derived cache rebuilt from customers, monthly_usage,
complaints, competitor calls, handsets, subscriptions and touches by every nightly run. After a
crash PostgreSQL truncates it and the next run (or `python -m shared.engine run`) rebuilds it; in
exchange the nightly rewrite of a million rows produces no WAL. Nothing else reads it as truth.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, IntPK


def _i(default: int = 0) -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=default, server_default=str(default))


def _fen() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0, server_default="0")


def _f() -> Mapped[float]:
    return mapped_column(Float, nullable=False, default=0, server_default="0")


class CustomerFeatures(Base):
    """One row per non-churned customer: the facts every later stage and every tag rule reads.

    Money in fen, data in MB. Averages are over the last 3 usage months unless named `_6m`;
    trends are ratios (last 3 months / previous 3 months - 1), 0 when there is no base.
    """

    __tablename__ = "customer_features"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    branch_id: Mapped[int | None] = mapped_column(Integer)
    plan_id: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(12))
    gender: Mapped[str | None] = mapped_column(String(1))
    age_years: Mapped[int | None] = mapped_column(Integer)
    tenure_months: Mapped[int] = _i()
    months_of_usage: Mapped[int] = _i()
    plan_fee_fen: Mapped[int] = _fen()
    arpu_fen: Mapped[int] = _fen()
    arpu_6m_fen: Mapped[int] = _fen()
    last_bill_fen: Mapped[int] = _fen()
    arpu_trend_3m: Mapped[float] = _f()
    arpu_trend_6m: Mapped[float] = _f()
    voice_min: Mapped[int] = _i()
    data_mb: Mapped[int] = _i()
    sms: Mapped[int] = _i()
    voice_trend_3m: Mapped[float] = _f()
    data_trend_3m: Mapped[float] = _f()
    voice_use_ratio: Mapped[float] = _f()
    data_use_ratio: Mapped[float] = _f()
    unused_voice_min: Mapped[int] = _i()
    unused_data_mb: Mapped[int] = _i()
    active_days: Mapped[int] = _i()
    active_subscriptions: Mapped[int] = _i()
    silent_services: Mapped[int] = _i()
    payg_data_fen: Mapped[int] = _fen()
    payg_data_3m_fen: Mapped[int] = _fen()
    roaming_fen: Mapped[int] = _fen()
    long_distance_fen: Mapped[int] = _fen()
    roaming_ld_3m_fen: Mapped[int] = _fen()
    balance_fen: Mapped[int] = _fen()
    topup_3m_fen: Mapped[int] = _fen()
    topup_count_3m: Mapped[int] = _i()
    broadband_gb: Mapped[int] = _i()
    complaints_90d: Mapped[int] = _i()
    complaints_network_90d: Mapped[int] = _i()
    complaints_tariff_90d: Mapped[int] = _i()
    complaints_service_90d: Mapped[int] = _i()
    unresolved_complaints: Mapped[int] = _i()
    min_satisfaction: Mapped[int | None] = mapped_column(Integer)
    competitor_calls_30d: Mapped[int] = _i()
    competitor_calls_90d: Mapped[int] = _i()
    handset_brand: Mapped[str | None] = mapped_column(String(40))
    handset_price_band: Mapped[str | None] = mapped_column(String(12))
    handset_age_months: Mapped[int | None] = mapped_column(Integer)
    dual_sim: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    handset_changes_12m: Mapped[int] = _i()
    touches_180d: Mapped[int] = _i()
    touch_successes_180d: Mapped[int] = _i()
    touches_this_month: Mapped[int] = _i()
    refusals_30d: Mapped[int] = _i()
    best_channel: Mapped[str | None] = mapped_column(String(20))
    do_not_disturb: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    contract_end: Mapped[date | None] = mapped_column(Date)
    """dates, not countdowns (days_to_contract_end / days_to_birthday are computed against the run
    day by shared.engine.rules): a countdown would change every row every night"""
    birthday: Mapped[date | None] = mapped_column(Date)
    join_date: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), index=True
    )  # moved only when the row changes: the later stages' "changed since my last pass"


class BehaviourCluster(Base):
    """A k-means cluster over scaled usage features. `centroid` is in scaled space (z-scores), so
    it is also the cluster's description: how many standard deviations it sits from the population
    on each feature in `features`. `label` starts as the generated description; a strategist may
    rename it (the engine keeps a name it did not write)."""

    __tablename__ = "behaviour_clusters"
    cluster_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    features: Mapped[list] = mapped_column(JSON)
    scaler: Mapped[dict] = mapped_column(JSON)  # {"mean": [...], "std": [...]} of the transformed features
    centroid: Mapped[list[float]] = mapped_column(ARRAY(Float))
    description: Mapped[list] = mapped_column(JSON, default=list)  # [{"feature","z","direction"}]
    label: Mapped[str] = mapped_column(String(200))
    label_edited: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    sample_size: Mapped[int] = _i()
    population: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    fitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class EngineRun(CreatedAt, Base):
    __tablename__ = "engine_runs"
    id: Mapped[IntPK]
    run_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    """the queue job running it (procrastinate_jobs.id); a retried job finds its run by it"""


class EngineRunStage(Base):
    __tablename__ = "engine_run_stages"
    __table_args__ = (PrimaryKeyConstraint("run_id", "stage"),)
    run_id: Mapped[int] = mapped_column(ForeignKey("engine_runs.id"))
    stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class EngineWatermark(Base):
    """Per incremental computation (e.g. "churn"): when its last complete pass started and what it
    depended on (`key`: model version, cut-off month). The next night recomputes only customers
    whose rows changed since `started_at`, or everything when the key differs."""

    __tablename__ = "engine_watermarks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key: Mapped[dict] = mapped_column(JSON, server_default=text("'{}'::jsonb"))
    run_date: Mapped[date | None] = mapped_column(Date)
    """the day the last pass ran for: what crossed a time boundary since is recomputed too"""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
