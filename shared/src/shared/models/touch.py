"""Touches: every contact with a customer, the basis of contact pressure and tracking reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, Money, stamped_at
from shared.touches.outcomes import OUTCOMES


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
        # migration 0007d; a word added to OUTCOMES needs a migration that widens this
        Index("ix_touches_updated_at_brin", "updated_at", postgresql_using="brin"),
        CheckConstraint("outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")", name="outcome_vocabulary"),
    )
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(
        String(20)
    )  # hall/outbound_call/sms/app_push/hotline/partner_app/manager_visit
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"))
    recommendation_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("recommendations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    outcome: Mapped[str] = mapped_column(String(30))  # shared.touches.outcomes.OUTCOMES
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the customer answered this touch (an SMS reply, an in-app answer); attribution ranks by it."""
    cost_fen: Mapped[Money]
    notes: Mapped[str | None] = mapped_column(Text)
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(160))
    updated_at: Mapped[datetime] = stamped_at()


class SmsReply(CreatedAt, Base):
    """One inbound SMS from the gateway, once per gateway message id (the UNIQUE row makes a
    redelivered message a replay), with what it did: the touch it answered, the order it placed
    (the customer's consent is this row: who, what text, when) or why it could not, and the SMS
    sent back."""

    __tablename__ = "sms_replies"
    id: Mapped[BigPK]
    gateway_message_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    keyword: Mapped[str] = mapped_column(String(20))  # order / refuse / unsubscribe / unknown
    touch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("touches.id"))
    subscription_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("subscriptions.id"))
    task_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("care_tasks.id"))
    result: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    reply_text: Mapped[str | None] = mapped_column(Text)
