"""Customer-app engagement: daily check-in, treasure hunts and prize pools."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK


class CheckIn(CreatedAt, Base):
    """One row per customer per local day; the primary key makes a second check-in impossible."""

    __tablename__ = "checkins"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "local_date"),)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    local_date: Mapped[date] = mapped_column(Date)
    streak: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column()
    makeup: Mapped[bool] = mapped_column(default=False, server_default="false")
    txn_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_txns.id"))


class TreasureHunt(CreatedAt, Base):
    __tablename__ = "treasure_hunts"
    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    daily_play_limit: Mapped[int] = mapped_column(default=3)
    status: Mapped[str] = mapped_column(String(12), default="active")


class HuntSpot(CreatedAt, Base):
    """A clue location: an app page, or a code shown at a partner merchant's till (in one of its
    stores when `store_id` is set). A till spot is played with its signed QR payload
    (`shared.engagement.spot_codes`), never with the bare `code`."""

    __tablename__ = "hunt_spots"
    id: Mapped[IntPK]
    hunt_id: Mapped[int] = mapped_column(ForeignKey("treasure_hunts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # app_page / merchant_code
    code: Mapped[str] = mapped_column(String(64), unique=True)
    clue: Mapped[str | None] = mapped_column(Text)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))


class HuntSpotClaim(CreatedAt, Base):
    """A customer's one play at a merchant's till spot: the primary key makes a replay impossible."""

    __tablename__ = "hunt_spot_claims"
    __table_args__ = (PrimaryKeyConstraint("hunt_id", "spot_id", "customer_id"),)
    hunt_id: Mapped[int] = mapped_column(ForeignKey("treasure_hunts.id"))
    spot_id: Mapped[int] = mapped_column(ForeignKey("hunt_spots.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))


class HuntPrize(CreatedAt, Base):
    """A prize type in a hunt's pool. `remaining` can never go below zero (CHECK + guarded UPDATE)."""

    __tablename__ = "hunt_prizes"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= budget", name="remaining_in_budget"),
        CheckConstraint("weight >= 0", name="weight_non_negative"),
    )
    id: Mapped[IntPK]
    hunt_id: Mapped[int] = mapped_column(ForeignKey("treasure_hunts.id"), index=True)
    prize_type: Mapped[str] = mapped_column(String(20))  # points / data_mb / airtime_fen / coupon
    amount: Mapped[int] = mapped_column(BigInteger)  # per win (points, MB, fen); 1 for coupons
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    budget: Mapped[int] = mapped_column()  # number of wins this prize may pay
    remaining: Mapped[int] = mapped_column()
    weight: Mapped[int] = mapped_column()  # odds in parts per million per play


class HuntPlay(CreatedAt, Base):
    __tablename__ = "hunt_plays"
    __table_args__ = (
        Index("ix_hunt_plays_customer_day", "customer_id", "hunt_id", "local_date"),
        Index("uq_hunt_plays_customer_key", "customer_id", "idempotency_key", unique=True),
    )
    id: Mapped[BigPK]
    hunt_id: Mapped[int] = mapped_column(ForeignKey("treasure_hunts.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    spot_id: Mapped[int | None] = mapped_column(ForeignKey("hunt_spots.id"))
    local_date: Mapped[date] = mapped_column(Date)
    prize_id: Mapped[int | None] = mapped_column(ForeignKey("hunt_prizes.id"))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict] = mapped_column(JSON, default=dict)


class Ad(CreatedAt, Base):
    """Banners targeted by tier/segment; merchants' ads need the operator's approval."""

    __tablename__ = "ads"
    id: Mapped[IntPK]
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(300))
    target_tiers: Mapped[list] = mapped_column(JSON, default=list)
    target_segments: Mapped[list] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    status: Mapped[str] = mapped_column(String(12), default="approved")
    priority: Mapped[int] = mapped_column(default=0)
