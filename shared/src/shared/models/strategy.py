"""Strategies (condition -> offer, channel, script) and the recommendations they produce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK, stamped_at


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
        # one open offer per customer and purpose, whichever path made it (shared.engine.offers)
        Index(
            "uq_recommendations_open_purpose",
            "customer_id",
            "purpose",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_recommendations_updated_at_brin", "updated_at", postgresql_using="brin"),
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
    status: Mapped[str] = mapped_column(String(12), default="open")  # open/accepted/dismissed/expired/superseded
    purpose: Mapped[str] = mapped_column(String(20), default="cross_sell", server_default="cross_sell")
    """retention / four_high / cross_sell (shared.engine.offers.PURPOSES): one open offer each."""
    origin: Mapped[str] = mapped_column(String(12), default="strategy", server_default="strategy")
    """strategy / campaign / key_moment: who made it; decides which offer wins (shared.engine.offers)."""
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = stamped_at()


class RetentionOffer(Base):
    """One rung of a cause's retention-offer ladder (shared.engine.offers; admin /v1/retention/offers)."""

    __tablename__ = "retention_offers"
    __table_args__ = (
        UniqueConstraint("cause", "rank", name="uq_retention_offers_cause_rank"),
        CheckConstraint("cost_fen IS NULL OR cost_fen >= 0", name="ck_retention_offers_cost"),
    )
    id: Mapped[IntPK]
    cause: Mapped[str] = mapped_column(String(30))  # stability sub-cause or four_high:<kind>
    rank: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(60))
    product_kind: Mapped[str | None] = mapped_column(String(20))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    channel: Mapped[str] = mapped_column(String(20))
    script: Mapped[str] = mapped_column(Text)
    cost_fen: Mapped[int | None] = mapped_column(BigInteger)  # NULL: the product's rebate terms
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class KeyMomentPlaybook(Base):
    """What a key-moment event produces (shared.engine.events; admin /v1/retention/playbooks)."""

    __tablename__ = "key_moment_playbooks"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_kind: Mapped[str | None] = mapped_column(String(20))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    channel: Mapped[str] = mapped_column(String(20))
    task_kind: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(120))
    script: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
