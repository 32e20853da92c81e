"""Merchant alliance: merchants, their OAuth2 clients, offers, coupons, redemptions, settlements."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK, Money


class Merchant(CreatedAt, Base):
    __tablename__ = "merchants"
    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(20))
    settlement_account: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="applied", index=True)
    webhook_url: Mapped[str | None] = mapped_column(String(300))
    webhook_secret: Mapped[str | None] = mapped_column(String(80))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Bumped when the merchant stops being approved; its access tokens die with the old version."""


class MerchantStore(CreatedAt, Base):
    __tablename__ = "merchant_stores"
    id: Mapped[IntPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))


class MerchantClient(CreatedAt, Base):
    """OAuth2 client credentials; the secret is stored as an argon2 hash and shown once."""

    __tablename__ = "merchant_clients"
    id: Mapped[IntPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Offer(CreatedAt, Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("stock_left >= 0 AND stock_left <= stock_total", name="stock_in_range"),
        CheckConstraint("price_points >= 0 AND price_airtime_fen >= 0", name="price_non_negative"),
    )
    id: Mapped[IntPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # discount / voucher / free_item / membership
    description: Mapped[str | None] = mapped_column(Text)
    face_value_fen: Mapped[Money]
    settlement_fen: Mapped[Money]  # what the operator pays the merchant per redemption
    price_points: Mapped[int] = mapped_column(BigInteger, default=0)
    price_airtime_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_total: Mapped[int] = mapped_column()
    stock_left: Mapped[int] = mapped_column()
    per_customer_limit: Mapped[int] = mapped_column(default=1)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    coupon_valid_days: Mapped[int] = mapped_column(default=30)
    target_tiers: Mapped[list] = mapped_column(JSON, default=list)
    target_segments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)


class Coupon(CreatedAt, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        Index("ix_coupons_customer_id_offer_id", "customer_id", "offer_id"),
        UniqueConstraint("customer_id", "idempotency_key"),
    )
    id: Mapped[BigPK]
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"))
    # never the plain code: an HMAC to find it, AES-GCM to show it to its owner (shared.alliance.codes)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="issued")  # issued/redeemed/expired/void
    paid_points: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_airtime_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(20), default="exchange")  # exchange / hunt / campaign


class Redemption(CreatedAt, Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("merchant_id", "request_key"),
        # backstop for "redeemed at most once": one live (unreversed) redemption per coupon
        Index("uq_redemptions_live_coupon", "coupon_id", unique=True, postgresql_where=text("reversed_at IS NULL")),
    )
    id: Mapped[BigPK]
    coupon_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("coupons.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))
    request_key: Mapped[str] = mapped_column(String(120))
    settlement_fen: Mapped[Money]
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reversal_key: Mapped[str | None] = mapped_column(String(120))


class OperatorPack(CreatedAt, Base):
    """Operator business packs (data, airtime) merchants buy to gift to their members."""

    __tablename__ = "operator_packs"
    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    asset: Mapped[str] = mapped_column(String(16))  # data_mb / airtime_fen / points
    amount: Mapped[int] = mapped_column(BigInteger)
    price_fen: Mapped[Money]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PackGift(CreatedAt, Base):
    __tablename__ = "pack_gifts"
    __table_args__ = (UniqueConstraint("merchant_id", "request_key"),)
    id: Mapped[BigPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("operator_packs.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    price_fen: Mapped[Money]
    request_key: Mapped[str] = mapped_column(String(120))
    txn_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_txns.id"))


class Settlement(CreatedAt, Base):
    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("merchant_id", "period_start", "period_end"),)
    id: Mapped[IntPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    lines: Mapped[dict] = mapped_column(JSON)
    operator_owes_fen: Mapped[Money]
    merchant_owes_fen: Mapped[Money]
    status: Mapped[str] = mapped_column(String(12), default="open")
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(CreatedAt, Base):
    """Outbox: written in the business transaction, delivered after commit with retries."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[BigPK]
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
