"""What the manager app writes beside the engine's tables: contact records, greetings done,
reassignment requests and monthly incentive statements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK


class ManagerContact(CreatedAt, Base):
    """One contact logged by staff (task completion, ad-hoc call, hall visit) and what it produced.

    The touch row is the campaign-tracking record; this row adds what only the manager app knows
    (benefits explained, stated satisfaction, consent, the order and follow-up it produced) and
    is what the KPI indicators read. `task_id` is UNIQUE: a task is completed at most once.
    """

    __tablename__ = "manager_contacts"
    __table_args__ = (
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        Index("ix_manager_contacts_staff_id_created_at", "staff_id", "created_at"),
        Index("ix_manager_contacts_customer_id_created_at", "customer_id", "created_at"),
    )
    id: Mapped[BigPK]
    task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    channel: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    touch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("touches.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    subscription_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("subscriptions.id"))
    consent_ref: Mapped[str | None] = mapped_column(String(80))
    benefits_explained: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    follow_up_task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"))


class Greeting(CreatedAt, Base):
    """A birthday or holiday greeting done for one customer; the primary key makes it once only."""

    __tablename__ = "greetings"
    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "occasion"),
        Index("ix_greetings_staff_id_occasion_date", "staff_id", "occasion_date"),
    )
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    occasion: Mapped[str] = mapped_column(String(40))  # birthday:2026 / holiday:2026-10-01
    occasion_date: Mapped[date] = mapped_column(Date)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    channel: Mapped[str] = mapped_column(String(20))
    touch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("touches.id"))


class ReassignmentRequest(CreatedAt, Base):
    """A manager asks to hand a customer on; the branch head approves (assignment moves) or rejects."""

    __tablename__ = "reassignment_requests"
    __table_args__ = (
        Index("ix_reassignment_requests_branch_id_status", "branch_id", "status"),
        Index(
            "uq_reassignment_requests_pending",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    to_manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IncentiveStatement(CreatedAt, Base):
    """A manager's incentive points for one month, with the rules and per-customer lines used.

    Posted once through the ledger (key `incentive:<manager>:<YYYY-MM>`); recomputing from the
    records with the stored rules gives the same lines.
    """

    __tablename__ = "incentive_statements"
    __table_args__ = (PrimaryKeyConstraint("manager_id", "month"),)
    manager_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    month: Mapped[date] = mapped_column(Date)
    points: Mapped[int] = mapped_column(BigInteger)
    rules: Mapped[dict] = mapped_column(JSON)
    lines: Mapped[list] = mapped_column(JSON)
    txn_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_txns.id"))
