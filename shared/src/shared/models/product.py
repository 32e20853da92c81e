"""The product library (plans, add-ons, contracts, broadband, memberships) and subscriptions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK, Money, stamped_at


class ProductKind(StrEnum):
    PLAN = "plan"
    DATA_PACK = "data_pack"
    VOICE_PACK = "voice_pack"
    CONTRACT = "contract"  # e.g. deposit and get 40–50% back monthly
    RECHARGE_BONUS = "recharge_bonus"
    BROADBAND = "broadband"
    FAMILY = "family"
    MEMBERSHIP = "membership"  # video memberships and the like


class Product(CreatedAt, Base):
    __tablename__ = "products"
    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    monthly_fee_fen: Mapped[Money]
    one_time_fee_fen: Mapped[Money]
    data_mb: Mapped[int] = mapped_column(default=0, server_default="0")
    voice_min: Mapped[int] = mapped_column(default=0, server_default="0")
    sms: Mapped[int] = mapped_column(default=0, server_default="0")
    duration_months: Mapped[int | None] = mapped_column()
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    """e.g. {"min_tier": "star3", "plan_kinds": [...], "max_per_customer": 1}"""
    selling_points: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Subscription(CreatedAt, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(
            "uq_subscriptions_customer_key",
            "customer_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_subscriptions_customer_id_status", "customer_id", "status"),
        Index("ix_subscriptions_updated_at_brin", "updated_at", postgresql_using="brin"),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active / cancelled / ended
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(20), default="app")
    placed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    charge_fen: Mapped[Money]
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    last_used_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = stamped_at()


class PlanChange(CreatedAt, Base):
    """A plan change from the billing system (the plan_changes feed), keyed by its record id, or
    one the customer (or their manager) asked for in the app (shared.business.plan_change).

    The latest change per customer sets `customers.plan_id`, which the engine reads. `status`:
    `applied` (feed rows and immediate changes), `scheduled` (a change from the 1st of next
    month, applied by the `plan_changes.apply` job when `changed_at` comes) or `cancelled`
    (withdrawn or superseded before it took effect; never applied).
    """

    __tablename__ = "plan_changes"
    __table_args__ = (
        UniqueConstraint("source_ref", name="uq_plan_changes_source_ref"),
        Index("ix_plan_changes_customer_id_changed_at", "customer_id", "changed_at"),
        Index("ix_plan_changes_scheduled", "changed_at", postgresql_where=text("status = 'scheduled'")),
        CheckConstraint("status IN ('scheduled', 'applied', 'cancelled')", name="status_known"),
    )
    id: Mapped[BigPK]
    source_ref: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_plan_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    to_plan_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    channel: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), server_default="applied")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContractInstalment(CreatedAt, Base):
    """One rebate instalment of a deposit-and-rebate contract or recharge bonus (issue 14).

    Written with the order (one row per month of the product's rebate terms); the monthly job
    posts the due ones through the ledger (key `rebate:<subscription>:<seq>`, so once per
    contract and month) and marks them paid; a cancellation forfeits the pending ones.
    """

    __tablename__ = "contract_instalments"
    __table_args__ = (
        UniqueConstraint("subscription_id", "seq", name="uq_contract_instalments_subscription_seq"),
        Index("ix_contract_instalments_due_month_status", "due_month", "status"),
    )
    id: Mapped[BigPK]
    subscription_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("subscriptions.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    seq: Mapped[int] = mapped_column()
    instalments: Mapped[int] = mapped_column()
    due_month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[Money]
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending / paid / forfeited
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
