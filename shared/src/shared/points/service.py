"""Customer points: earn, spend, adjust and the "what expires soonest" view.

Every movement is one ledger transaction (`shared.ledger.service.post`): customer credits carry
`expires_on` from the published expiry rule (by earning date), debits carry none. Spending is
decided by the ledger's guarded UPDATE, so concurrent spends can never overdraw; each call is
idempotent per `key` (a replay moves nothing and returns the first posting).
Expiry consumes credits FIFO by `expires_on`: a spend uses the points that expire soonest first.
Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import native
from shared.errors import BadRequest, Conflict, Unprocessable
from shared.ledger import service as ledger
from shared.ledger.airtime import airtime_account
from shared.models import AccountKind, Asset
from shared.points import rules
from shared.programme import settings as programme_settings


@dataclass(frozen=True, slots=True)
class Movement:
    txn_id: int
    created: bool
    balance: int
    expires_on: date | None = None


async def _customer_acc(session: AsyncSession, customer_id: int) -> int:
    return await ledger.customer_account(session, customer_id, Asset.POINTS)


async def balance(session: AsyncSession, customer_id: int) -> int:
    return await ledger.balance_of(session, asset=Asset.POINTS, kind=AccountKind.CUSTOMER, owner_id=customer_id)


async def earn(
    session: AsyncSession,
    *,
    customer_id: int,
    amount: int,
    key: str,
    kind: str,
    earned_on: date,
    source: str = "points:issuance",
    reference: str | None = None,
    actor: str | None = None,
    memo: dict[str, Any] | None = None,
) -> Movement:
    """Credit `amount` (> 0) from system account `source`, expiring by the published rule.

    Idempotent per `key`; a replay with other legs raises IdempotencyKeyReused (409).
    """
    if amount <= 0:
        raise BadRequest("amount must be positive", amount=amount)
    rule = await programme_settings.get(session, programme_settings.POINTS_EXPIRY)
    until = rules.expires_on(rule, earned_on)
    src = await ledger.system_account(session, source)
    acc = await _customer_acc(session, customer_id)
    posted = await ledger.post(
        session,
        key=key,
        kind=kind,
        reference=reference,
        actor=actor,
        memo=memo,
        legs=[
            ledger.Leg(src, Asset.POINTS, -amount, customer_id=customer_id),
            ledger.Leg(acc, Asset.POINTS, amount, customer_id=customer_id, expires_on=until),
        ],
    )
    bal = posted.balances[acc] if acc in posted.balances else await balance(session, customer_id)
    return Movement(posted.txn_id, posted.created, bal, until)


async def spend(
    session: AsyncSession,
    *,
    customer_id: int,
    amount: int,
    key: str,
    kind: str,
    sink: str = "points:redemption",
    reference: str | None = None,
    actor: str | None = None,
    memo: dict[str, Any] | None = None,
) -> Movement:
    """Debit `amount` (> 0) into system account `sink`.

    Concurrency: one guarded UPDATE decides (no read-then-write); raises InsufficientFunds (402)
    when the balance is short — the caller's transaction must roll back.
    """
    if amount <= 0:
        raise BadRequest("amount must be positive", amount=amount)
    acc = await _customer_acc(session, customer_id)
    dst = await ledger.system_account(session, sink)
    posted = await ledger.post(
        session,
        key=key,
        kind=kind,
        reference=reference,
        actor=actor,
        memo=memo,
        legs=[
            ledger.Leg(acc, Asset.POINTS, -amount, customer_id=customer_id),
            ledger.Leg(dst, Asset.POINTS, amount, customer_id=customer_id),
        ],
    )
    bal = posted.balances[acc] if acc in posted.balances else await balance(session, customer_id)
    return Movement(posted.txn_id, posted.created, bal)


async def adjust(
    session: AsyncSession, *, customer_id: int, delta: int, key: str, reason: str, actor: str, today: date
) -> Movement:
    """Back-office correction: a compensating credit (delta > 0) or debit (delta < 0), never an edit."""
    if delta == 0:
        raise BadRequest("delta may not be zero")
    memo = {"reason": reason}
    if delta > 0:
        return await earn(
            session,
            customer_id=customer_id,
            amount=delta,
            key=key,
            kind="points_adjust",
            earned_on=today,
            source="points:issuance",
            actor=actor,
            memo=memo,
        )
    return await spend(
        session,
        customer_id=customer_id,
        amount=-delta,
        key=key,
        kind="points_adjust",
        sink="points:issuance",
        actor=actor,
        memo=memo,
    )


# Balance and remaining points per expiry date, FIFO: all debits (spends and past expiries)
# consume the credits that expire soonest first. Credits without an expiry date sort last.
_SUMMARY, _SUMMARY_NAMES = native.to_asyncpg(
    """
    WITH a AS (
        SELECT id, balance FROM ledger_accounts WHERE asset = 'points' AND kind = 'customer' AND owner_id = :c
    ), e AS (
        SELECT amount, expires_on FROM ledger_entries WHERE account_id = (SELECT id FROM a)
    ), debits AS (
        SELECT coalesce(-sum(amount), 0) AS used FROM e WHERE amount < 0
    ), credits AS (
        SELECT expires_on, sum(amount) AS earned FROM e WHERE amount > 0 GROUP BY expires_on
    ), running AS (
        SELECT expires_on, earned,
               sum(earned) OVER (ORDER BY expires_on NULLS LAST
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
        FROM credits
    ), buckets AS (
        SELECT r.expires_on, least(r.earned, r.cum - d.used) AS remaining
        FROM running r, debits d
        WHERE r.cum - d.used > 0
    )
    SELECT coalesce((SELECT balance FROM a), 0) AS balance, b.expires_on, b.remaining
    FROM (SELECT 1) one LEFT JOIN buckets b ON true
    ORDER BY b.expires_on NULLS LAST
    """
)


async def summary(session: AsyncSession, customer_id: int) -> tuple[int, list[dict[str, Any]]]:
    """(balance, expiring buckets soonest first) in one statement: `GET /v1/points` is one round
    trip instead of three (account id, buckets, balance), on the driver connection
    (`shared.db.native`): it is a third of the customer app's account-query mix."""
    async with native.read_connection(session) as conn:
        rows = await conn.fetch(_SUMMARY, *native.bind(_SUMMARY_NAMES, {"c": customer_id}))
    buckets = [
        {"expires_on": r["expires_on"], "points": int(r["remaining"])} for r in rows if r["remaining"] is not None
    ]
    return int(rows[0]["balance"]), buckets


async def expiring(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    """[{"expires_on", "points"}] still held, soonest first (read-only; no account is created)."""
    return (await summary(session, customer_id))[1]


async def history(
    session: AsyncSession, customer_id: int, *, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    """The customer's own points entries, newest first (keyset pagination on entry id)."""
    rows = (
        (
            await session.execute(
                text(
                    """
                SELECT e.id, e.amount, e.expires_on, e.created_at, t.kind, t.reference
                FROM ledger_accounts a
                JOIN ledger_entries e ON e.account_id = a.id
                JOIN ledger_txns t ON t.id = e.txn_id
                WHERE a.asset = 'points' AND a.kind = 'customer' AND a.owner_id = :c
                  AND (CAST(:before AS bigint) IS NULL OR e.id < :before)
                ORDER BY e.id DESC LIMIT :limit
                """
                ),
                {"c": customer_id, "before": before_id, "limit": limit},
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


async def redeem_for_airtime(session: AsyncSession, *, customer_id: int, points: int, key: str) -> dict[str, Any]:
    """Exchange points for airtime at the published rate, in one ledger txn (both assets balance).

    Concurrency: the points debit is the ledger's guarded UPDATE, so 100 simultaneous exchanges
    against a balance covering 10 succeed exactly 10 times. Idempotent per `key`. Raises
    InsufficientFunds (402), Conflict (exchange closed), Unprocessable (below the minimum).
    """

    rule = await programme_settings.get(session, programme_settings.POINTS_EXCHANGE)
    if not rule.get("enabled", True):
        raise Conflict("points exchange is closed")
    if points < int(rule.get("min_points", 1)):
        raise Unprocessable("below the minimum exchange", min_points=int(rule.get("min_points", 1)))
    fen = points * int(rule.get("airtime_fen_per_point", 1))
    acc = await _customer_acc(session, customer_id)
    sink = await ledger.system_account(session, "points:redemption")
    airtime = await airtime_account(session, customer_id)
    issuance = await ledger.system_account(session, "airtime:issuance")
    posted = await ledger.post(
        session,
        key=f"points_airtime:{customer_id}:{key}",
        kind="points_to_airtime",
        reference=f"customer:{customer_id}",
        memo={"points": points, "airtime_fen": fen},
        legs=[
            ledger.Leg(acc, Asset.POINTS, -points, customer_id=customer_id),
            ledger.Leg(sink, Asset.POINTS, points, customer_id=customer_id),
            ledger.Leg(issuance, Asset.AIRTIME, -fen, customer_id=customer_id),
            ledger.Leg(airtime, Asset.AIRTIME, fen, customer_id=customer_id),
        ],
    )
    return {
        "txn_id": posted.txn_id,
        "points": points,
        "airtime_fen": fen,
        "points_balance": await balance(session, customer_id),
        "airtime_balance_fen": await ledger.balance_of(
            session, asset=Asset.AIRTIME, kind=AccountKind.CUSTOMER, owner_id=customer_id
        ),
    }
