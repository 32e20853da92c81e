"""Run a hot statement on the pooled asyncpg connection itself, bypassing SQLAlchemy's cursor layer.

For the one request path that the morning peak is made of (the daily check-in), SQLAlchemy's
parameter processing, cursor emulation and greenlet hop cost more CPU than the statement does in
PostgreSQL. The connection still comes from (and returns to) the engine's pool, so timeouts,
application_name and pool limits are the same as everywhere else. This is the third transaction
style of `shared.db.transactions`: use it only where a measured hot path needs it, and say so there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

from shared.db import faults
from shared.db.engine import behind_pgbouncer

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")


def to_asyncpg(sql: str) -> tuple[str, list[str]]:
    """Turn SQLAlchemy `:name` parameters into asyncpg `$n`; casts like `::jsonb` are left alone.

    Returns the statement and the parameter names in `$n` order.
    """
    names: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PARAM.sub(sub, sql), names


def render(clause: ClauseElement) -> str:
    """A SQLAlchemy clause as PostgreSQL text with `:name` placeholders (for `to_asyncpg`), so a
    hand-written hot statement can embed a rule that has one implementation elsewhere (scoping)."""
    sql = str(clause.compile(dialect=postgresql.dialect()))
    return re.sub(r"%\((\w+)\)s", r":\1", sql)


def planner_opaque(name: str, sql_type: str) -> str:
    """`:name` as a one-row subquery, so the planner estimates it as it would an unknown value.

    A prepared statement is planned with its values ("custom") for five executions; PostgreSQL then
    keeps its one generic plan only if that is estimated no dearer. For a literal array or date the
    custom estimate always wins (the statistics know how rare `risk_level = 'high'` is or how few
    tasks are already late), so such a statement is planned again on every execution: 0.6-1.5 ms
    of a manager list's 1.3-5 ms, measured over 60 executions per shape on the 1M city. Behind the
    subquery both plans see the same unknown value, so the generic plan is kept after five. Use it
    only where the generic plan was measured to be as good (the value's selectivity does not change
    the right plan). The outer CAST keeps `x = ANY(...)` the array form, not the subquery form."""
    return f"CAST((SELECT CAST(:{name} AS {sql_type})) AS {sql_type})"


def bind(names: list[str], params: dict[str, Any]) -> list[Any]:
    return [params[n] for n in names]


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection[asyncpg.Record]:
    """The asyncpg connection under a pooled SQLAlchemy connection: same pool slot, same transaction."""
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None:  # only once the pool has detached it
        raise RuntimeError("the pooled connection has no driver connection")
    return driver


@asynccontextmanager
async def pooled(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    """A driver connection from the engine's pool, without SQLAlchemy's `Connection` around it.

    The hot paths run one raw statement per checkout; `engine.connect()` with its Connection,
    events and the greenlet hop to reach the driver cost 240 µs per checkout here against 60–120
    µs for the pool entry alone (`pool.connect()` through `AsyncEngine.raw_connection`), and a
    manager request checks out twice. Same pool, same limits, same checkin check (shared.db.faults);
    statements autocommit (no transaction is begun); a connection whose protocol state an error
    left unknown is invalidated instead of returned.
    """
    entry = await engine.raw_connection()
    try:
        driver = entry.driver_connection
        if driver is None:  # only once the pool has detached it
            raise RuntimeError("the pooled connection has no driver connection")
        yield driver
    except BaseException as exc:
        if faults.state_unknown(exc):
            entry.invalidate(exc)
        raise
    finally:
        await greenlet_spawn(entry.close)


@asynccontextmanager
async def read_connection(session: AsyncSession) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    """The driver connection a native read on `session` runs on: straight from the session's
    engine's pool while the session has begun nothing (a ReadSession: no ORM transaction to set up,
    nothing for its close to undo; the read engine is AUTOCOMMIT), else the session's own
    connection's (a write transaction's or a test's, so the read sees their uncommitted rows)."""
    bind = session.bind
    if isinstance(bind, AsyncEngine) and not session.in_transaction():
        async with pooled(bind) as driver:
            if not behind_pgbouncer(bind):
                yield driver
                return
            # PgBouncer in transaction mode: a statement outside a transaction may be prepared on one
            # server connection and executed on another; one read-only transaction keeps them together
            async with driver.transaction(readonly=True):
                yield driver
    else:
        conn = await session.connection()
        driver = await driver_connection(conn)
        try:
            yield driver
        except Exception as exc:
            await faults.discard_if_unknown(conn, exc)
            raise
