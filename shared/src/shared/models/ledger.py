"""The one ledger for every money-like value: points, airtime (fen), data (MB), incentive points.

Double entry: a transaction is two or more entries whose amounts sum to zero (checked by a
deferred constraint trigger). Entries are append-only (a trigger refuses UPDATE and DELETE).
`LedgerAccount.balance` is a cache of SUM(entries.amount), kept in the same transaction and
reconciled by `shared.ledger.service.verify`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK


class Asset(StrEnum):
    POINTS = "points"
    AIRTIME = "airtime_fen"
    DATA = "data_mb"
    INCENTIVE = "incentive"  # account managers' incentive points (seed 000)


class AccountKind(StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    STAFF = "staff"
    SYSTEM = "system"  # issuance, expiry, revenue, alliance budgets...
    PRIZE_POOL = "prize_pool"
    ARREARS = "arrears"  # a customer's airtime owed (<= 0, allow_negative); see shared.ledger.airtime


class LedgerAccount(CreatedAt, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="balance_non_negative"),
        Index(
            "uq_ledger_accounts_owner",
            "asset",
            "kind",
            "owner_id",
            unique=True,
            postgresql_where=text("owner_id IS NOT NULL"),
        ),
    )
    id: Mapped[BigPK]
    asset: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str | None] = mapped_column(String(80), unique=True)
    customer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class LedgerTxn(CreatedAt, Base):
    __tablename__ = "ledger_txns"
    id: Mapped[BigPK]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    actor: Mapped[str | None] = mapped_column(String(80))
    memo: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")


class LedgerEntry(CreatedAt, Base):
    """Append-only. `expires_on` is set on customer point credits (expiry by earning date)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )
    id: Mapped[BigPK]
    txn_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_txns.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    expires_on: Mapped[date | None] = mapped_column(Date)


class IdempotencyRecord(CreatedAt, Base):
    """Stored first response of a state-changing request, keyed per principal.

    The row is inserted in the request's own transaction: a concurrent duplicate blocks on the
    unique key until the first commits, then replays its stored response byte for byte.
    """

    __tablename__ = "idempotency_records"
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[str] = mapped_column(String)
