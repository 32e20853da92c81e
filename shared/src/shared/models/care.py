"""Care work for account managers: tasks, the holidays and key-moment events that cause them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
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
from shared.models._types import JSON, BigPK


class CareTask(CreatedAt, Base):
    __tablename__ = "care_tasks"
    __table_args__ = (
        Index("ix_care_tasks_manager_status_due", "manager_id", "status", "due_on"),
        Index("ix_care_tasks_manager_id_updated_at", "manager_id", "updated_at"),
        # overdue open tasks per customer, counted for every row of a manager's list: an
        # index-only probe instead of a heap visit per task
        Index(
            "ix_care_tasks_open_customer_due",
            "customer_id",
            "due_on",
            postgresql_where=text("status IN ('open', 'in_progress')"),
        ),
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
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"), index=True)


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
