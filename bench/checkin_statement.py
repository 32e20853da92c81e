"""The check-in statement alone, on a scratch database: a small loop over asyncpg and EXPLAIN ANALYZE.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
      .venv/bin/python bench/checkin_statement.py [--customers 3000] [--concurrency 1,8]

For comparing two versions of `shared.engagement.checkin` on a busy machine where the full HTTP
bench (bench/customer_load.py, needs a demo city) is out of reach. Creates `bench_checkin_<pid>`
next to the URL's database, migrates it, adds N bare customers, then per concurrency level runs
one check-in per customer for a fresh day (first check-ins open the points account on the fly;
later days credit an existing one), each with its idempotency record, as the HTTP path sends it.
Prints statements/s and p50/p95/p99 per level, and the server-side execution time from
EXPLAIN ANALYZE (median of 300, each rolled back); --compare runs another version alternately. Drops the database afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import native
from shared.db.embedded import resolve_database_url, to_async_url, to_libpq_url, with_database
from shared.db.migrate import upgrade
from shared.engagement import checkin as checkin_service
from shared.web.idempotency import request_hash


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 3)


async def run_level(
    pool: asyncpg.Pool, sql: str, names: list[str], ids: list[int], day: date, conc: int, label: str
) -> None:
    queue = list(ids)
    lat: list[float] = []
    bad = 0

    async def worker() -> None:
        nonlocal bad
        while queue:
            cid = queue.pop()
            params = checkin_service.checkin_params(
                cid, day, checkin_service.Idem(f"customer:{cid}", f"b-{uuid.uuid4().hex}", request_hash({"op": "ci"}))
            )
            async with pool.acquire() as conn:
                t = time.perf_counter()
                row = await conn.fetchrow(sql, *native.bind(names, params))
                lat.append((time.perf_counter() - t) * 1000)
            bad += row["txn_id"] is None

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    elapsed = time.perf_counter() - t0
    print(
        f"{label:<12} {day} concurrency {conc:>2}: {len(lat) / elapsed:8.1f} stmt/s  p50 {pct(lat, 50)} ms  "
        f"p95 {pct(lat, 95)} ms  p99 {pct(lat, 99)} ms  not credited {bad}",
        flush=True,
    )


async def explain(pool: asyncpg.Pool, versions: dict[str, str], ids: list[int], day: date, label: str) -> None:
    """Server-side execution time of each version, interleaved customer by customer (rolled back)."""
    times: dict[str, list[float]] = {v: [] for v in versions}
    prepared = {v: native.to_asyncpg(sql) for v, sql in versions.items()}
    async with pool.acquire() as conn:
        for cid in ids[:300]:
            for version, (sql, names) in prepared.items():
                params = checkin_service.checkin_params(
                    cid, day, checkin_service.Idem(f"customer:{cid}", f"e-{uuid.uuid4().hex}", request_hash({}))
                )
                tr = conn.transaction()
                await tr.start()
                plan = await conn.fetch("EXPLAIN (ANALYZE, TIMING OFF) " + sql, *native.bind(names, params))
                await tr.rollback()
                found = re.search(r"Execution Time: ([\d.]+)", "\n".join(r[0] for r in plan))
                assert found is not None
                times[version].append(float(found.group(1)))
    for version, values in times.items():
        print(
            f"{version:<20} {label:<22} EXPLAIN ANALYZE over {len(values)}: median {statistics.median(values):.3f} ms, "
            f"p90 {pct(values, 90)} ms"
        )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--days", type=int, default=2, help="days per concurrency level (day 1 opens accounts)")
    ap.add_argument(
        "--compare",
        type=Path,
        nargs="*",
        default=[],
        help="files holding other versions of the statement (same parameters): run all, alternately",
    )
    args = ap.parse_args()
    server = to_libpq_url(resolve_database_url(args.database_url))
    name = f"bench_checkin_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        upgrade(url)
        pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
        assert pool is not None
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO customers (id, phone, phone_last4, name, join_date, status, tier, attributes) "
                "SELECT g, '199' || lpad(g::text, 8, '0'), right(lpad(g::text, 8, '0'), 4), 'c', DATE '2020-01-01', "
                "'active', 'star3', '{}'::jsonb FROM generate_series(1, $1::int) g",
                args.customers + 300,
            )
        ids = list(range(1, args.customers + 1))
        fresh = list(range(args.customers + 1, args.customers + 301))
        versions = {"module": str(checkin_service.CHECKIN_SQL)}
        versions.update({path.name: path.read_text() for path in args.compare})
        # The first check-in ever takes the module's slow path, which opens the issuance shards.
        engine = create_async_engine(to_async_url(url))
        async with engine.begin() as c:
            await checkin_service.check_in(c, customer_id=ids[-1], day=date(2030, 1, 1))
        await engine.dispose()
        # Day 2030-01-02 opens every customer's account (a first check-in), so that every version
        # measured after it credits an existing account; customers N+1..N+300 never check in, for
        # the EXPLAIN of a first check-in (rolled back).
        await run_level(pool, *native.to_asyncpg(versions["module"]), ids, date(2030, 1, 2), 8, "warm-up")
        day = date(2030, 1, 3)
        for conc in [int(x) for x in args.concurrency.split(",")]:
            for _ in range(args.days):
                for label, statement in versions.items():
                    sql, names = native.to_asyncpg(statement)
                    await run_level(pool, sql, names, ids, day, conc, label)
                    day += timedelta(days=1)
        await explain(pool, versions, ids, day - timedelta(days=1), "day already checked in")
        await explain(pool, versions, ids, day, "new day")
        await explain(pool, versions, fresh, day, "first check-in ever")
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
