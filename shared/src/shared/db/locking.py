"""Advisory locks: one helper and one key scheme for the whole code base.

A lock is named by a namespace (the kind of work, listed in `Lock`) and a key inside it (a
customer id, a table name, ...). Its Postgres key is `hashtextextended('<namespace>:<key>', 0)`,
one bigint, so two kinds of work can only meet on a hash collision, never by reusing a number.
Take one only where the row to lock may not exist yet (otherwise `SELECT ... FOR UPDATE`), and
with a narrow key (per customer, per table), never one global lock on a request path.

- `advisory_lock`: transaction-scoped; released by the commit or rollback. Request paths and
  single-transaction work.
- `session_lock`: a whole job's "one run at a time" guard, held on a dedicated autocommit
  connection (no idle transaction); it dies with the connection, so a crashed run never leaves
  it behind. `lock_held` tells whether some connection holds one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession


class Lock(StrEnum):
    """Every advisory-lock namespace, with what one key serialises."""

    ORDERS = "orders"  # customer id: one order placement at a time
    TOUCHES = "touches"  # customer id: contact-pressure check, then the touch
    HUNT_PLAY = "engagement.hunt_play"  # "hunt:customer": the daily play limit
    CHECKIN_MAKEUP = "engagement.makeup"  # customer id: the monthly make-up cap
    COUPON_LIMIT = "alliance.coupon"  # "offer:customer": the per-customer coupon limit
    IMPORT = "backoffice.import"  # table name: merges into tables without a unique key
    ASSIGNMENT = "engine.assignment"  # "": one manager-assignment pass at a time
    ENGINE_RUN = "engine.run"  # "": one nightly run at a time (session lock)
    CHURN_TRAINING = "churn.training"  # "": one churn training at a time (session lock)
    CHURN_VERSION = "churn.version"  # "": churn model version numbering
    POINTS_JOB = "points.job"  # job name: one expiry / accrual run at a time (session lock)
    JOB = "jobs.run"  # queue job id: one worker runs a job at a time (session lock)
    SCHEDULE = "jobs.schedule"  # "": one scheduler tick at a time


_KEY = "hashtextextended(CAST(:name AS text), 0)"
_XACT = text(f"SELECT pg_advisory_xact_lock({_KEY})")
_TRY = text(f"SELECT pg_try_advisory_lock({_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock({_KEY})")
# a bigint advisory key shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1
_HELD = text(
    f"""
    SELECT EXISTS (
        SELECT 1 FROM pg_locks, (SELECT {_KEY} AS k) AS key
        WHERE locktype = 'advisory' AND granted AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid::bigint = ((key.k >> 32) & 4294967295) AND objid::bigint = (key.k & 4294967295))
    """
)


def _name(namespace: Lock, key: object) -> str:
    return f"{namespace.value}:{key}"


async def advisory_lock(session: AsyncSession, namespace: Lock, key: object = "") -> None:
    """Wait for the transaction-scoped lock (namespace, key); it is released when the caller's
    transaction ends. Waiting is bounded by the connection's lock_timeout."""
    await session.execute(_XACT, {"name": _name(namespace, key)})


async def try_session_lock(conn: AsyncConnection, namespace: Lock, key: object = "") -> bool:
    """Take the session-level lock on `conn` (an autocommit connection) without waiting."""
    return bool(await conn.scalar(_TRY, {"name": _name(namespace, key)}))


async def session_unlock(conn: AsyncConnection, namespace: Lock, key: object = "") -> None:
    await conn.execute(_UNLOCK, {"name": _name(namespace, key)})


@asynccontextmanager
async def session_lock(engine: AsyncEngine, namespace: Lock, key: object = "") -> AsyncIterator[bool]:
    """Hold the session-level lock on a dedicated autocommit connection for the block; yields
    whether it was acquired (False: another run holds it, and the block should not do the work)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        got = await try_session_lock(conn, namespace, key)
        try:
            yield got
        finally:
            if got:
                await session_unlock(conn, namespace, key)


async def lock_held(session: AsyncSession, namespace: Lock, key: object = "") -> bool:
    """Whether some connection to this database holds the session-level lock (namespace, key)."""
    return bool(await session.scalar(_HELD, {"name": _name(namespace, key)}))
