"""Strategies (condition -> offer, channel, script) and the recommendations they produce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK


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
