"""The incremental night for the customer stages (features, tiers, profiles, tags, strategies).

A stage's output for a customer is a function of that customer's input rows, the stage's
definitions (rules, settings, centroids: its `key`) and the run day. So a pass over the customers
whose input rows changed since the stage's last complete pass (every input table carries a
change stamp: `updated_at`, or `computed_at` for the feature view, moved only when a row
changes), plus those for whom the day itself moved an answer (a complaint leaving the 90-day
window, a birthday, a contract countdown crossing a rule's threshold: each stage lists these as
`crossing` queries between the previous pass's day and tonight), leaves exactly what a pass
over everyone leaves. Everyone is recomputed when the key differs, when there was no previous
pass (or it ran for a later day), when the night is a full one (`ctx.incremental` false), or
when most customers changed anyway. `tests/shared/engine/test_incremental_night.py` checks the
equality after a day of changes.

Statements are written once, for everyone; `/*subset <column>*/` markers (SQL comments, so the
full text runs as is) become `AND <column> = ANY(:ids)` in a subset pass, on every per-table scan
of the chunk: Postgres cannot push a join's filter into a GROUP BY subquery. A marker right after
its chunk range (`col > :lo AND col <= :hi /*subset col*/`) replaces the range (see `subset_sql`);
one placed elsewhere in the WHERE keeps it (the usage partitions' scans want it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.db.transactions import own_transaction
from shared.engine.jobs import RunContext, run_chunks, tune
from shared.engine.watermarks import watermark_instant
from shared.logging import get_logger

log = get_logger(__name__)
PREFIX = "stage:"
SUBSET_CHUNK = 20_000
"""dirty customers per chunk statement (their ids are one bound array)"""
FULL_SHARE = 0.5
"""above this share of customers changed, a pass over everyone is cheaper than index probes"""
VERSION = 1
"""part of every stage's key: bump when a stage's SQL changes meaning (the next night is full)"""

_MARKER = re.compile(r"/\*subset ([a-z_.]+)\*/")

SubsetWork = Callable[[AsyncSession, int, int, "list[int] | None"], Awaitable[int]]


_RANGED_MARKER = re.compile(r"(?P<col>[a-z_.]+) > :lo AND (?P=col) <= :hi /\*subset (?P=col)\*/")
_IDS = "{} = ANY(CAST(:ids AS bigint[]))"


def subset_sql(statement: str, subset: bool) -> str:
    """The statement for everyone (markers stay comments) or for the bound `:ids`.

    A marker after its chunk's range replaces the range: the ids lie inside it, but the planner
    multiplies the two selectivities, estimated a 20k-id chunk at a few rows and chose nested
    loops whose inner index scans re-sorted the id array on every probe (the 1M tags stage spent
    12 s per chunk so)."""
    if not subset:
        return statement
    statement = _RANGED_MARKER.sub(lambda m: _IDS.format(m.group("col")), statement)
    return _MARKER.sub(lambda m: "AND " + _IDS.format(m.group(1)), statement)


@dataclass
class Pass:
    """One stage's pass tonight: everyone (`ids` None) or the changed customers."""

    name: str
    started_at: datetime
    key: dict[str, Any]
    ids: list[int] | None
    reason: str
    previous_day: date | None = None
    since: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    """kept with the watermark but not part of the key (e.g. each tag's version)"""
    previous_state: dict[str, Any] = field(default_factory=dict)

    @property
    def subset(self) -> bool:
        return self.ids is not None

    def note(self) -> dict[str, Any]:
        return {"mode": "subset" if self.subset else "full", "reason": self.reason, "customers": self.counts}


async def config_hash(session: AsyncSession, *queries: str) -> str:
    """A fingerprint of definition rows (small tables: rules, settings, centroids) for a stage key."""
    digest = hashlib.sha256()
    for q in queries:
        rows = (await session.execute(text(f"SELECT coalesce(json_agg(x)::text, '') FROM ({q}) x"))).scalar_one()
        digest.update(rows.encode())
    return digest.hexdigest()[:32]


def anniversary_days(previous_day: date, day: date) -> list[int]:
    """The days of the month a date can have when an age counted from it (`age(day, x)` in
    PostgreSQL, x on or before `previous_day`) gains a month between `previous_day` and `day`:
    the day of each date in (previous_day, day], and on a 1st the days the month before lacked
    (a 31st's month is counted on the 1st after a 30-day month). A necessary condition, so a
    crossing query can test it before the costly `age()` comparison it guards."""
    if (day - previous_day).days >= 28:
        return list(range(1, 32))
    days: set[int] = set()
    t = previous_day + timedelta(days=1)
    while t <= day:
        days.add(t.day)
        if t.day == 1:
            days.update(range((t - timedelta(days=1)).day + 1, 32))
        t += timedelta(days=1)
    return sorted(days)


def age_moved(column: str, *parts: str) -> str:
    """SQL: `column`'s age (`age(day, column)`) differs in these parts ('year', 'month') between
    `:prev_day` and `:day`; the costly `age()` comparison runs only behind the cheap necessary
    condition of `anniversary_days` (bound by `window_params`)."""
    differs = " OR ".join(
        f"date_part('{p}', age(CAST(:day AS date), {column})) "
        f"IS DISTINCT FROM date_part('{p}', age(CAST(:prev_day AS date), {column}))"
        for p in parts
    )
    return (
        f"(({column} > CAST(:prev_day AS date) "
        f"OR CAST(extract(day FROM {column}) AS int) = ANY(CAST(:anniversary_days AS int[]))) AND ({differs}))"
    )


def window_params(ctx: RunContext, previous_day: date) -> dict[str, Any]:
    """Both days' day and end-of-day instants, for the crossing queries."""
    return {
        "day": ctx.run_date,
        "prev_day": previous_day,
        "anniversary_days": anniversary_days(previous_day, ctx.run_date),
        "as_of": ctx.as_of,
        "prev_as_of": clock.local_midnight(previous_day + timedelta(days=1)),
        "now": clock.now(),
    }


async def plan(
    ctx: RunContext,
    name: str,
    key: dict[str, Any],
    *,
    changed: Sequence[str],
    crossing: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    needs_rows_in: str | None = None,
    state: dict[str, Any] | None = None,
) -> Pass:
    """Decide tonight's pass of stage `name`.

    `changed`: queries of customer ids whose input rows changed since `:since`; `crossing`:
    queries of customer ids whose answers the day moved between `:prev_day` and `:day` (see
    `window_params`); `params` binds their other values. `needs_rows_in`: an output table that
    must hold rows (an UNLOGGED table is empty after a crash: then everyone is recomputed).
    `state` is recorded with the pass and handed to the next one (`previous_state`), not compared.
    """
    key = {**key, "v": VERSION}
    async with ctx.sm() as s:
        instant = await watermark_instant(s)
        row = (
            await s.execute(
                text("SELECT started_at, key, run_date FROM engine_watermarks WHERE name = :n"), {"n": PREFIX + name}
            )
        ).first()
        stored = dict(row.key) if row is not None else {}
        previous_state = stored.pop("_state", {})
        reason = None
        if not ctx.incremental:
            reason = "full night"
        elif row is None:
            reason = "no previous pass"
        elif stored != json.loads(json.dumps(key, default=str)):
            reason = "definitions changed"
        elif row.run_date is None or row.run_date > ctx.run_date:
            reason = "previous pass ran for a later day"
        elif needs_rows_in and not await s.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {needs_rows_in})")):
            reason = f"{needs_rows_in} is empty"
        if reason is not None:
            return Pass(name, instant, key, None, reason, state=state or {})
        assert row is not None
        bound = {**window_params(ctx, row.run_date), **(params or {}), "since": row.started_at}
        union = " UNION ".join(f"({q})" for q in [*changed, *crossing])
        await tune(s)
        ids = [int(i) for i in (await s.scalars(text(f"SELECT DISTINCT x.id FROM ({union}) x(id) ORDER BY 1"), bound))]
        total = int(await s.scalar(text("SELECT count(*) FROM customers")) or 0)
    p = Pass(name, instant, key, ids, "changed since the last pass", row.run_date, row.started_at, state=state or {})
    p.previous_state = previous_state
    p.counts = {"changed": len(ids), "customers": total}
    if total and len(ids) > FULL_SHARE * total:
        p.ids, p.reason = None, f"{len(ids)} of {total} customers changed"
    return p


async def finish(ctx: RunContext, p: Pass) -> None:
    """Record the pass as complete: the next one starts from its start and its day."""
    ctx.notes[p.name] = p.note()
    async with own_transaction(ctx.sm) as s:
        await s.execute(
            text(
                "INSERT INTO engine_watermarks (name, started_at, key, run_date) "
                "VALUES (:n, :t, CAST(:k AS jsonb), :d) "
                "ON CONFLICT (name) DO UPDATE SET started_at = EXCLUDED.started_at, key = EXCLUDED.key, "
                "run_date = EXCLUDED.run_date, updated_at = now()"
            ),
            {
                "n": PREFIX + p.name,
                "t": p.started_at,
                "k": json.dumps({**p.key, "_state": p.state}, default=str),
                "d": ctx.run_date,
            },
        )
    log.info("engine.pass", stage=p.name, **p.note())


async def run_pass(ctx: RunContext, p: Pass, work: SubsetWork) -> int:
    """`work(session, lo, hi, ids)` over every id range (ids None), or over the changed customers
    in groups of SUBSET_CHUNK (lo < every id in `ids` <= hi), `ctx.parallel` at a time."""
    if p.ids is None:
        return await run_chunks(ctx, lambda s, lo, hi: work(s, lo, hi, None))
    ids = p.ids
    groups = [ids[i : i + SUBSET_CHUNK] for i in range(0, len(ids), SUBSET_CHUNK)]
    gate = asyncio.Semaphore(max(1, ctx.parallel))

    async def one(group: list[int]) -> int:
        async with gate:
            async with own_transaction(ctx.sm) as s:
                await tune(s)
                # planned for this chunk's ids: a generic plan (the driver prepares, and reuses a
                # plan after five runs) guesses 10 elements in `= ANY($n)`, not 20k, and nests loops
                await s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
                n = await work(s, group[0] - 1, group[-1], group)
            if ctx.progress is not None:
                await ctx.progress(n)
            return n

    return sum(await asyncio.gather(*(one(g) for g in groups)))


def changed_in(table: str, column: str = "customer_id", stamp: str = "updated_at") -> str:
    """Customers with a row of `table` stamped since the last pass."""
    return f"SELECT {column} FROM {table} WHERE {stamp} >= :since"
