"""The one ledger for points, airtime, data and incentive points.

Every movement is a transaction whose legs sum to zero per asset. Writes never read-decide-write:
each account's balance moves in one guarded UPDATE (`balance + amount >= 0` unless the account may
go negative), accounts are touched in ascending id order (no deadlocks), and the transaction's
idempotency key is UNIQUE, so a retry or a concurrent duplicate posts nothing twice.
Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.ledger.errors import IdempotencyKeyReused, UnbalancedTransaction, insufficient_funds
from shared.models import AccountKind, Asset, LedgerAccount, LedgerEntry, LedgerTxn


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    asset: str
    amount: int
    customer_id: int | None = None
    expires_on: date | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    txn_id: int
    created: bool  # False when the key had already been posted (a replay)
    balances: dict[int, int] = field(default_factory=dict)


# --- accounts ---------------------------------------------------------------------------------

SYSTEM_ACCOUNTS: dict[str, str] = {
    # code: asset. System accounts may go negative (they are where value is minted or retired),
    # unless created with allow_negative=False (the alliance's operator budgets).
    "points:issuance": Asset.POINTS,
    "points:expiry": Asset.POINTS,
    "points:redemption": Asset.POINTS,  # points spent on coupons, goods, services
    "airtime:issuance": Asset.AIRTIME,  # top-ups, opening balances, bonuses
    "airtime:revenue": Asset.AIRTIME,  # charges for add-ons, coupons bought with airtime
    "airtime:rebates": Asset.AIRTIME,  # rebate instalments of deposit contracts, recharge bonuses
    "airtime:payments": Asset.AIRTIME,  # money received through the payment gateway (top-ups)
    "data:issuance": Asset.DATA,
    "incentive:issuance": Asset.INCENTIVE,
}


def _system_asset(code: str) -> str:
    return SYSTEM_ACCOUNTS.get(code) or code.split(":", 1)[0]


async def system_account(
    session: AsyncSession, code: str, *, asset: str | None = None, allow_negative: bool = True
) -> int:
    """Id of a named system account, created on first use (race-safe upsert).

    The asset defaults to the code's prefix (`points:...`); an account that may not go negative
    (an operator budget) says so on creation, and an existing account keeps what it was created with.
    """
    stmt = (
        insert(LedgerAccount)
        .values(asset=asset or _system_asset(code), kind=AccountKind.SYSTEM, code=code, allow_negative=allow_negative)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(LedgerAccount.id)
    )
    acc_id = await session.scalar(stmt)
    if acc_id is None:
        acc_id = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    assert acc_id is not None
    return acc_id


async def open_system_accounts(session: AsyncSession | AsyncConnection, codes: Sequence[str]) -> None:
    """Open several system accounts (that may go negative) in one statement; existing ones are kept."""
    await session.execute(
        insert(LedgerAccount)
        .values(
            [{"asset": _system_asset(c), "kind": AccountKind.SYSTEM, "code": c, "allow_negative": True} for c in codes]
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )


async def open_account(
    session: AsyncSession,
    *,
    asset: str,
    kind: str,
    owner_id: int,
    allow_negative: bool = False,
) -> int | None:
    """Create the (asset, kind, owner) account: its id when this call created it, None if it existed.

    For callers that post an opening balance exactly once: a concurrent opener waits on the
    unique index and then gets None (or, if the first opener rolled back, creates it itself).
    """
    customer_id = owner_id if kind == AccountKind.CUSTOMER else None
    return await session.scalar(
        insert(LedgerAccount)
        .values(asset=asset, kind=kind, owner_id=owner_id, customer_id=customer_id, allow_negative=allow_negative)
        .on_conflict_do_nothing(index_elements=["asset", "kind", "owner_id"], index_where=text("owner_id IS NOT NULL"))
        .returning(LedgerAccount.id)
    )


async def owner_account(
    session: AsyncSession,
    *,
    asset: str,
    kind: str,
    owner_id: int,
    allow_negative: bool = False,
) -> int:
    """Id of the (asset, kind, owner) account — a customer's points, a merchant's prepaid airtime…"""
    acc_id = await open_account(session, asset=asset, kind=kind, owner_id=owner_id, allow_negative=allow_negative)
    if acc_id is None:
        acc_id = await session.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.asset == asset, LedgerAccount.kind == kind, LedgerAccount.owner_id == owner_id
            )
        )
    assert acc_id is not None
    return acc_id


async def customer_account(session: AsyncSession, customer_id: int, asset: str = Asset.POINTS) -> int:
    return await owner_account(session, asset=asset, kind=AccountKind.CUSTOMER, owner_id=customer_id)


async def balance_of(session: AsyncSession, *, asset: str, kind: str, owner_id: int) -> int:
    value = await session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.asset == asset, LedgerAccount.kind == kind, LedgerAccount.owner_id == owner_id
        )
    )
    return int(value or 0)


# --- posting ----------------------------------------------------------------------------------

_MOVE = text(
    """
    UPDATE ledger_accounts SET balance = balance + :amount
    WHERE id = :id AND (allow_negative OR balance + :amount >= 0)
    RETURNING balance
    """
)


def _check_balanced(legs: list[Leg]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if leg.amount == 0:
            raise UnbalancedTransaction("a leg may not be zero")
        totals[leg.asset] += leg.amount
    if any(totals.values()) or len(legs) < 2:
        raise UnbalancedTransaction(f"legs must sum to zero per asset: {dict(totals)}")


def _fingerprint(legs: list[Leg] | list[tuple[int, int]]) -> list[tuple[int, int]]:
    pairs = [(leg.account_id, leg.amount) if isinstance(leg, Leg) else leg for leg in legs]
    return sorted(pairs)


async def post(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    legs: list[Leg],
    reference: str | None = None,
    actor: str | None = None,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Post a balanced transaction once per `key`.

    Concurrency: the txn row's UNIQUE key serialises duplicates (the second insert waits for the
    first to commit, then sees it); balances move in single guarded UPDATEs in account-id order.
    Replays with the same legs return the first txn (created=False); different legs raise
    IdempotencyKeyReused. A debit that would overdraw raises InsufficientFunds — the caller's
    transaction must then roll back (the service layer lets the exception propagate).
    """
    _check_balanced(legs)
    txn_id = await session.scalar(
        insert(LedgerTxn)
        .values(idempotency_key=key, kind=kind, reference=reference, actor=actor, memo=memo or {})
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(LedgerTxn.id)
    )
    if txn_id is None:
        existing = await session.scalar(select(LedgerTxn).where(LedgerTxn.idempotency_key == key))
        assert existing is not None
        rows = (
            await session.execute(
                select(LedgerEntry.account_id, LedgerEntry.amount).where(LedgerEntry.txn_id == existing.id)
            )
        ).all()
        if existing.kind != kind or _fingerprint([(r[0], r[1]) for r in rows]) != _fingerprint(legs):
            raise IdempotencyKeyReused("idempotency key already used for a different request", key=key)
        return Posted(existing.id, created=False)

    per_account: dict[int, int] = defaultdict(int)
    for leg in legs:
        per_account[leg.account_id] += leg.amount
    balances: dict[int, int] = {}
    for account_id in sorted(per_account):
        amount = per_account[account_id]
        if amount == 0:
            continue
        new_balance = await session.scalar(_MOVE, {"id": account_id, "amount": amount})
        if new_balance is None:
            held = (
                await session.execute(
                    select(LedgerAccount.asset, LedgerAccount.kind, LedgerAccount.balance).where(
                        LedgerAccount.id == account_id
                    )
                )
            ).one()
            raise insufficient_funds(asset=held.asset, kind=held.kind, balance=int(held.balance), required=-amount)
        balances[account_id] = int(new_balance)
    await session.execute(
        insert(LedgerEntry),
        [
            {
                "txn_id": txn_id,
                "account_id": leg.account_id,
                "asset": leg.asset,
                "amount": leg.amount,
                "customer_id": leg.customer_id,
                "expires_on": leg.expires_on,
            }
            for leg in legs
        ],
    )
    return Posted(txn_id, created=True, balances=balances)


async def transfer(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    asset: str,
    from_account: int,
    to_account: int,
    amount: int,
    customer_id: int | None = None,
    expires_on: date | None = None,
    reference: str | None = None,
    actor: str | None = None,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Two-leg shorthand: move `amount` (> 0) of one asset between two accounts."""
    if amount <= 0:
        raise UnbalancedTransaction("amount must be positive")
    return await post(
        session,
        key=key,
        kind=kind,
        reference=reference,
        actor=actor,
        memo=memo,
        legs=[
            Leg(from_account, asset, -amount, customer_id=customer_id),
            Leg(to_account, asset, amount, customer_id=customer_id, expires_on=expires_on),
        ],
    )


# --- verification -----------------------------------------------------------------------------

VERIFY_QUERIES: dict[str, str] = {
    "unbalanced_txns": """
        SELECT txn_id, asset, SUM(amount) AS total FROM ledger_entries
        GROUP BY txn_id, asset HAVING SUM(amount) <> 0 LIMIT 100""",
    "unbalanced_assets": """
        SELECT asset, SUM(amount) AS total FROM ledger_entries GROUP BY asset HAVING SUM(amount) <> 0""",
    "balance_mismatch": """
        SELECT a.id AS account_id, a.balance, coalesce(e.total, 0) AS entries_total
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_entries GROUP BY account_id) e
          ON e.account_id = a.id
        WHERE a.balance <> coalesce(e.total, 0) LIMIT 100""",
    "negative_balances": """
        SELECT id AS account_id, balance FROM ledger_accounts WHERE NOT allow_negative AND balance < 0 LIMIT 100""",
    "asset_mismatch": """
        SELECT e.id AS entry_id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
        WHERE a.asset <> e.asset LIMIT 100""",
    "txns_without_entries": """
        SELECT t.id AS txn_id FROM ledger_txns t
        WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = t.id) LIMIT 100""",
}


async def verify(session: AsyncSession) -> dict[str, Any]:
    """Run every ledger invariant; `ok` is True only when all of them return no rows."""
    report: dict[str, Any] = {}
    for name, sql in VERIFY_QUERIES.items():
        rows = (await session.execute(text(sql))).mappings().all()
        report[name] = [dict(r) for r in rows]
    totals = (
        (
            await session.execute(
                text("SELECT asset, count(*) AS accounts, SUM(balance) AS total FROM ledger_accounts GROUP BY asset")
            )
        )
        .mappings()
        .all()
    )
    report["ok"] = not any(report[name] for name in VERIFY_QUERIES)
    report["assets"] = [dict(r) for r in totals]
    return report
