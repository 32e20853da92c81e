"""Daily check-in (once per customer per Asia/Shanghai day), streaks and make-up of missed days.

Rules come from programme_settings `checkin_rules` (see shared.programme.settings): the reward
for streak day n is rewards[(n - 1) % len(rewards)], so a 7-entry list pays its last value on day 7
and then cycles. A missed day breaks the streak (it restarts at 1) unless the customer makes the
day up within `makeup.max_days_back` days, at `makeup.cost_points`, at most `max_per_month` times.

The ordinary check-in is ONE SQL statement (sql/checkin.sql): the checkins row, the points credit
(ledger txn + two entries + both balances) and, over HTTP, the idempotency record are written
together or not at all. Nothing here commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared.db import native
from shared.db.engine import behind_pgbouncer
from shared.db.locking import Lock, advisory_lock
from shared.errors import Conflict, IdempotencyKeyReused, Unprocessable
from shared.ledger import bulk
from shared.ledger import service as ledger
from shared.models import CheckIn
from shared.points import rules
from shared.points import service as points_service
from shared.programme import settings as programme_settings

SHARDS = 16  # issuance accounts for check-in credits: spreads one hot balance row over 16

_SQL = (
    bulk.compose((Path(__file__).parent / "sql" / "checkin.sql").read_text(), to_customers=True)
    .replace("{expires_on}", rules.EXPIRES_ON_SQL.format(r="r.ex", d="CAST(:day AS date)"))
    .replace("{checkin_defaults}", json.dumps(programme_settings.DEFAULTS[programme_settings.CHECKIN_RULES]))
    .replace("{expiry_defaults}", json.dumps(programme_settings.DEFAULTS[programme_settings.POINTS_EXPIRY]))
    .replace("'{{}}'", "'{}'")
)
CHECKIN_SQL = text(_SQL)
_NATIVE_SQL, _NATIVE_NAMES = native.to_asyncpg(_SQL)
_READ_IDEM = text(
    "SELECT request_hash, status_code, response_body FROM idempotency_records "
    "WHERE principal = :principal AND key = :key"
)


def shard_code(customer_id: int) -> str:
    return f"points:issuance:checkin:{customer_id % SHARDS:02d}"


@dataclass(frozen=True, slots=True)
class Idem:
    """The HTTP idempotency claim folded into the check-in statement (same table as run_once)."""

    principal: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class CheckInResult:
    status_code: int
    body: str | None  # stored JSON body when called with Idem
    replayed: bool
    streak: int
    points: int
    balance: int


def checkin_params(customer_id: int, day: date, idem: Idem | None) -> dict[str, Any]:
    """Bound parameters of CHECKIN_SQL (also used verbatim by bench/customer_load.py)."""
    return {
        "cid": customer_id,
        "day": day,
        "prev": day - timedelta(days=1),
        "lkey": f"checkin:{customer_id}:{day.isoformat()}",
        "shard": shard_code(customer_id),
        "principal": idem.principal if idem else None,
        "ikey": idem.key if idem else None,
        "hash": idem.request_hash if idem else None,
    }


async def ensure_shards(session: AsyncSession | AsyncConnection) -> None:
    """Open the check-in issuance shards (idempotent upserts)."""
    await ledger.open_system_accounts(session, [f"points:issuance:checkin:{n:02d}" for n in range(SHARDS)])


async def check_in(
    session: AsyncSession | AsyncConnection, *, customer_id: int, day: date, idem: Idem | None = None
) -> CheckInResult:
    """Check in for `day` (the caller passes the Asia/Shanghai date) once.

    Runs inside the caller's transaction (a session or connection). Concurrency: 200 simultaneous
    calls for one customer and day credit exactly once; the losers wait on the ledger key and
    then get Conflict("already checked in") — or, with the same Idempotency-Key, the first call's
    stored body (replayed=True). Raises IdempotencyKeyReused when the key was used for a
    different request. A concurrent request with the same key for another day (around midnight)
    makes the statement fail with a unique violation (IntegrityError): the caller rolls back.
    """
    params = checkin_params(customer_id, day, idem)
    row = (await session.execute(CHECKIN_SQL, params)).one()
    if row.txn_id is None and row.shard_id is None:
        # First check-in since the database was created: open the issuance shards and retry.
        await ensure_shards(session)
        row = (await session.execute(CHECKIN_SQL, params)).one()
    if row.txn_id is not None:
        return CheckInResult(200, row.body, False, row.streak, row.reward, int(row.balance))
    return await _replay_or_refuse(session, day=day, idem=idem, reward=row.reward)


async def _replay_or_refuse(
    session: AsyncSession | AsyncConnection, *, day: date, idem: Idem | None, reward: int
) -> CheckInResult:
    if idem is not None:
        stored = (await session.execute(_READ_IDEM, {"principal": idem.principal, "key": idem.key})).one_or_none()
        if stored is not None:
            if stored.request_hash != idem.request_hash:
                raise IdempotencyKeyReused("this Idempotency-Key was used with a different request", key=idem.key)
            return CheckInResult(stored.status_code, stored.response_body, True, 0, 0, 0)
    if reward <= 0:
        raise Conflict("check-in rewards are not configured")
    raise Conflict("already checked in today", local_date=day.isoformat())


async def check_in_autocommit(engine: AsyncEngine, *, customer_id: int, day: date, idem: Idem) -> CheckInResult:
    """The HTTP path: the check-in statement as its own transaction, one database round trip.

    One statement is atomic on its own (the deferred ledger trigger runs at its end), so no
    BEGIN/COMMIT round trips are needed. The statement runs on a pooled asyncpg connection
    directly (`shared.db.native.pooled`, the raw-asyncpg style of `shared.db.transactions`):
    outside a transaction block asyncpg runs it as its own transaction. A unique violation on the
    idempotency record means another request holds this key: nothing was written, and the stored
    response is replayed.
    """
    args = native.bind(_NATIVE_NAMES, checkin_params(customer_id, day, idem))
    async with native.pooled(engine) as driver:
        try:
            row = await driver.fetchrow(_NATIVE_SQL, *args)
        except asyncpg.UniqueViolationError as exc:
            if exc.table_name != "idempotency_records":
                raise
            row = None  # another request holds this key
    if row is not None and row["txn_id"] is not None:
        return CheckInResult(200, row["body"], False, row["streak"], row["reward"], int(row["balance"]))
    # The rare paths (a replay or refusal, the first check-in since the database was created) on
    # an ordinary pooled connection.
    async with engine.connect() as conn:
        if row is None:
            return await _replay_or_refuse(conn, day=day, idem=idem, reward=1)
        if row["shard_id"] is None:
            # First check-in since the database was created: the slow path opens the shards.
            if behind_pgbouncer(engine):  # autocommit statements may change server connection there
                async with conn.begin():
                    return await check_in(conn, customer_id=customer_id, day=day, idem=idem)
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await check_in(auto, customer_id=customer_id, day=day, idem=idem)
        return await _replay_or_refuse(conn, day=day, idem=idem, reward=row["reward"])


_STATUS, _STATUS_NAMES = native.to_asyncpg(
    """
    SELECT (SELECT value FROM programme_settings WHERE key = :key) AS cfg,
           k.local_date, k.streak, k.points, k.makeup
    FROM (SELECT 1) one
    LEFT JOIN checkins k ON k.customer_id = :c AND k.local_date >= :since
    ORDER BY k.local_date
    """
)


async def status(session: AsyncSession, *, customer_id: int, today: date) -> dict[str, Any]:
    """Today's state: checked in or not, the live streak, the next reward, make-up options.

    One statement (the rules row and the last 40 days together): `GET /v1/checkin` is one round
    trip on the driver connection (`shared.db.native`), it is a third of the account-query mix."""
    since = today - timedelta(days=40)
    params = {"key": programme_settings.CHECKIN_RULES, "c": customer_id, "since": since}
    async with native.read_connection(session) as conn:
        result = await conn.fetch(_STATUS, *native.bind(_STATUS_NAMES, params))
    cfg = programme_settings.overlay(programme_settings.CHECKIN_RULES, result[0]["cfg"])
    rows = [r for r in result if r["local_date"] is not None]
    by_day = {r["local_date"]: r for r in rows}
    today_row = by_day.get(today)
    yesterday_row = by_day.get(today - timedelta(days=1))
    live = today_row["streak"] if today_row else (yesterday_row["streak"] if yesterday_row else 0)
    next_streak = (today_row["streak"] if today_row else live) + 1
    makeup = cfg.get("makeup") or {}
    missed = []
    if makeup.get("enabled"):
        for back in range(1, int(makeup.get("max_days_back", 0)) + 1):
            d = today - timedelta(days=back)
            if d not in by_day:
                missed.append(d)
    month_start = today.replace(day=1)
    return {
        "local_date": today,
        "checked_in_today": today_row is not None,
        "streak": live,
        "next_reward": _reward(cfg, next_streak),
        "rewards": _rewards(cfg),
        "month": [
            {"local_date": r["local_date"], "points": r["points"], "makeup": r["makeup"]}
            for r in rows
            if r["local_date"] >= month_start
        ],
        "makeup": {
            "enabled": bool(makeup.get("enabled")),
            "cost_points": int(makeup.get("cost_points", 0)),
            "used_this_month": sum(1 for r in rows if r["makeup"] and r["local_date"] >= month_start),
            "max_per_month": int(makeup.get("max_per_month", 0)),
            "missed_days": missed,
        },
    }


def _rewards(cfg: dict[str, Any]) -> list[int]:
    raw = cfg.get("rewards")
    return [int(x) for x in raw] if isinstance(raw, list) and raw else [5]


def _reward(cfg: dict[str, Any], streak: int) -> int:
    rewards = _rewards(cfg)
    return rewards[(streak - 1) % len(rewards)]


async def make_up(session: AsyncSession, *, customer_id: int, day: date, today: date, key: str) -> dict[str, Any]:
    """Check in for a missed `day` within the make-up window, paying the published cost.

    Serialised per customer (advisory xact lock) so the monthly cap cannot be raced. The day is
    claimed by the same ledger key as an ordinary check-in, so it is paid at most once. Streaks
    of the following consecutive days are recomputed; rewards already paid are not changed.
    Raises Unprocessable (window/cap), Conflict (already checked in), InsufficientFunds (cost).
    """
    cfg = await programme_settings.get(session, programme_settings.CHECKIN_RULES)
    makeup = cfg.get("makeup") or {}
    if not makeup.get("enabled"):
        raise Conflict("make-up check-ins are not offered")
    if not (today - timedelta(days=int(makeup.get("max_days_back", 0)))) <= day < today:
        raise Unprocessable("this day cannot be made up", local_date=day.isoformat())
    await advisory_lock(session, Lock.CHECKIN_MAKEUP, customer_id)
    exists = await session.scalar(
        select(func.count()).select_from(CheckIn).where(CheckIn.customer_id == customer_id, CheckIn.local_date == day)
    )
    if exists:
        raise Conflict("already checked in on that day", local_date=day.isoformat())
    used = (
        await session.scalar(
            select(func.count())
            .select_from(CheckIn)
            .where(
                CheckIn.customer_id == customer_id, CheckIn.makeup.is_(True), CheckIn.local_date >= today.replace(day=1)
            )
        )
        or 0
    )  # count(*) always answers
    if used >= int(makeup.get("max_per_month", 0)):
        raise Conflict("no make-up check-ins left this month", used=used)
    cost = int(makeup.get("cost_points", 0))
    if cost > 0:
        await points_service.spend(
            session,
            customer_id=customer_id,
            amount=cost,
            key=f"checkin-makeup-cost:{customer_id}:{day}",
            kind="checkin_makeup_cost",
            reference=f"customer:{customer_id}",
        )
    prev = await session.scalar(
        select(CheckIn.streak).where(CheckIn.customer_id == customer_id, CheckIn.local_date == day - timedelta(days=1))
    )
    streak = (prev or 0) + 1
    reward = _reward(cfg, streak)
    moved = await points_service.earn(
        session,
        customer_id=customer_id,
        amount=reward,
        key=f"checkin:{customer_id}:{day.isoformat()}",
        kind="checkin",
        earned_on=today,
        source="points:issuance:checkin-makeup",
        reference=f"customer:{customer_id}",
        memo={"streak": streak, "local_date": day.isoformat(), "makeup": True},
    )
    session.add(
        CheckIn(customer_id=customer_id, local_date=day, streak=streak, points=reward, makeup=True, txn_id=moved.txn_id)
    )
    await session.flush()
    # Re-chain the following consecutive days: their streak continues from the made-up day.
    following = (
        (
            await session.execute(
                select(CheckIn)
                .where(CheckIn.customer_id == customer_id, CheckIn.local_date > day)
                .order_by(CheckIn.local_date)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    expected, s = day + timedelta(days=1), streak
    for row in following:
        if row.local_date != expected:
            break
        s += 1
        row.streak = s
        expected += timedelta(days=1)
    await session.flush()
    return {
        "local_date": day,
        "streak": streak,
        "points": reward,
        "cost_points": cost,
        "balance": await points_service.balance(session, customer_id),
        "makeup": True,
        "current_streak": s,
    }
