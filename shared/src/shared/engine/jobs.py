"""Chunked, parallel execution of set-based SQL over customer id ranges, and stage bookkeeping.

Every chunk is one short transaction over `lo < customer_id <= hi`; chunks are disjoint, so two
running side by side (one per core) never touch the same rows. A chunk's work must be idempotent:
a crashed run is repaired by running it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.logging import get_logger

log = get_logger(__name__)
SQL_DIR = Path(__file__).parent / "sql"


def sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


@dataclass
class RunContext:
    """What every stage gets: the sessionmaker, the run, its day and the id range to cover."""

    sm: async_sessionmaker[AsyncSession]
    run_id: int
    run_date: date
    lo: int = 0
    hi: int = 0
    chunk: int = 50_000
    parallel: int = 2
    progress: Callable[[int], Awaitable[None]] | None = None
    notes: dict[str, object] = field(default_factory=dict)
    incremental: bool = False
    """recompute only customers changed since a stage's watermark (stages that keep one)"""
    churn_training: asyncio.Task[int] | None = None
    """a first churn model being trained since the run started (the churn stage awaits it)"""

    @property
    def as_of(self) -> datetime:
        """End of the run day, local time: every 'last N days' window ends here."""
        return clock.local_midnight(self.run_date + timedelta(days=1))

    @property
    def month_start(self) -> date:
        return self.run_date.replace(day=1)

    def params(self) -> dict[str, object]:
        return {"run_id": self.run_id, "run_date": self.run_date, "as_of": self.as_of, "month_start": self.month_start}


async def tune(s: AsyncSession) -> None:
    """Per-transaction settings for engine statements. JIT is off: compiling the huge generated
    tag/strategy expressions cost more (seconds per chunk) than it ever saved."""
    await s.execute(text("SET LOCAL work_mem = '64MB'"))
    await s.execute(text("SET LOCAL jit = off"))
    await s.execute(text("SET LOCAL statement_timeout = '600s'"))


ChunkWork = Callable[[AsyncSession, int, int], Awaitable[int]]


async def run_chunks(ctx: RunContext, work: ChunkWork, *, chunk: int | None = None) -> int:
    """Run `work(session, lo, hi)` over every id range, `ctx.parallel` at a time; sum the row counts.

    Each chunk commits on its own. Progress is reported in a separate short transaction so the
    parallel chunks never wait on the stage row.
    """
    size = chunk or ctx.chunk
    ranges = [(a, min(a + size, ctx.hi)) for a in range(ctx.lo, ctx.hi, size)]
    gate = asyncio.Semaphore(max(1, ctx.parallel))

    async def one(a: int, b: int) -> int:
        async with gate:
            async with own_transaction(ctx.sm) as s:
                await tune(s)
                n = await work(s, a, b)
            if ctx.progress is not None:
                await ctx.progress(n)
            return n

    return sum(await asyncio.gather(*(one(a, b) for a, b in ranges)))


def statement_work(statement: str, params: dict[str, object]) -> ChunkWork:
    """A chunk job made of one SQL statement with :lo/:hi bound; returns its rowcount."""
    stmt = text(statement)

    async def work(s: AsyncSession, lo: int, hi: int) -> int:
        result = await s.execute(stmt, {**params, "lo": lo, "hi": hi})
        return max(rowcount(result), 0)

    return work


async def id_range(session: AsyncSession) -> tuple[int, int]:
    """(lo, hi) such that every customer id satisfies lo < id <= hi."""
    row = (await session.execute(text("SELECT coalesce(min(id), 1) - 1, coalesce(max(id), 0) FROM customers"))).one()
    return int(row[0]), int(row[1])


async def analyze_if_stale(sm: async_sessionmaker[AsyncSession], tables: list[str]) -> list[str]:
    """ANALYZE tables never analysed or with >10% rows changed since: bulk loads and the engine's
    own writes otherwise leave the planner guessing (nested loops over a million rows).
    Partitioned parents (monthly_usage) are never auto-analysed, so they are checked by children."""
    done: list[str] = []
    async with sm() as s:
        for table in tables:
            stale = await s.scalar(
                text(
                    """
                SELECT coalesce(bool_or(last_analyze IS NULL AND last_autoanalyze IS NULL
                                        OR n_mod_since_analyze > 0.1 * greatest(n_live_tup, 1000)), true)
                FROM pg_stat_user_tables
                WHERE relid = CAST(:t AS regclass)
                   OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = CAST(:t AS regclass))
                """
                ),
                {"t": table},
            )
            if stale:
                await s.execute(text(f"ANALYZE {table}"))  # names come from the engine's own list
                done.append(table)
        await s.commit()
    return done


async def vacuum(sm: async_sessionmaker[AsyncSession], tables: list[str]) -> dict[str, float]:
    """VACUUM each table, outside any transaction; returns seconds per table.

    The night rewrites a share of the tables the apps read all day (profiles, tag sets,
    assignments, tasks); until they are vacuumed, the morning's lists follow dead row versions and
    cannot use index-only scans (not all-visible pages). Autovacuum comes only past 20 % of a
    table dead (scale factor 0.2): a million profiles need four or five real nights before it
    looks. A table with nothing to clean costs a visibility-map walk (a few milliseconds)."""
    seconds: dict[str, float] = {}
    async with sm() as s:
        conn = await s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        for table in tables:
            watch = Stopwatch()
            await conn.execute(text(f"VACUUM {table}"))  # names come from the engine's own list
            seconds[table] = watch.seconds
    return seconds


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)
