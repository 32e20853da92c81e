"""Manager-app load: 100 account managers, each making one request per second (100 requests/s),
open loop, against list, portrait and task endpoints; then EXPLAIN (ANALYZE, BUFFERS) of the
queries behind each endpoint and a check that none seq-scans a customer-sized table.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db with the city> \\
      .venv/bin/python bench/manager_load.py http://127.0.0.1:8002 [--rate 100] [--duration 60]

The database must hold a loaded city (`python -m tenure_demo --customers 1000000`) with manager
assignments and care tasks (the engine's nightly run: `python -m shared.engine run`). The server
must use the same database and the dev JWT secret (tokens are minted here with
`shared.auth.tokens`). If `touches` is nearly empty, a synthetic contact history (2 per
customer) is added first (`--no-prepare` skips it). Each manager has one keep-alive connection and a request every second (staggered); latency is
measured from the scheduled instant, so queueing behind a slow response counts (no coordinated
omission).
Writes bench/results/manager_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from lean_http import Connection
from machine import cpu_shares, cpu_snapshot
from sqlalchemy import text

from shared.auth.principals import Audience, Principal
from shared.auth.tokens import issue_access_token
from shared.db.engine import create_engine, create_sessionmaker
from shared.manager import customers as customers_service
from shared.manager import portrait as portrait_service
from shared.manager import tasks as tasks_service
from shared.settings import Settings
from shared.web.app import freeze_heap

try:  # the load generator shares the two cores with what it measures: the cheaper loop is used
    from uvloop import run
except ImportError:  # pragma: no cover
    from asyncio import run

RESULTS = Path(__file__).parent / "results" / "manager_load.json"
MIX = [("list", 0.4), ("portrait", 0.4), ("tasks", 0.2)]
GOAL_P99_MS = 100.0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 2)


async def pick_managers(sm: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """n account managers with assigned customers, with a sample of their customers and tasks."""
    async with sm() as s:
        rows = (
            await s.execute(
                text(
                    """
            SELECT su.id, su.org_unit_id FROM staff_users su
            WHERE su.role = 'account_manager' AND su.active
              AND EXISTS (SELECT 1 FROM manager_assignments a WHERE a.manager_id = su.id)
            ORDER BY su.id
            """
                )
            )
        ).all()
        rnd = random.Random(seed)
        chosen = rnd.sample(rows, min(n, len(rows)))
        out = []
        for mid, org in chosen:
            cust = list(
                (
                    await s.scalars(
                        text(
                            "SELECT customer_id FROM manager_assignments WHERE manager_id = :m ORDER BY customer_id LIMIT 50"
                        ),
                        {"m": mid},
                    )
                ).all()
            )
            out.append({"id": mid, "org": org, "customers": cust})
    return out


def token(settings: Settings, m: dict[str, Any]) -> str:
    p = Principal("staff", m["id"], "account_manager", Audience.MANAGER, m["org"])
    return issue_access_token(settings, p, ttl_s=3600)


def request_for(kind: str, m: dict[str, Any], rnd: random.Random) -> tuple[str, dict[str, Any]]:
    if kind == "list":
        params: dict[str, Any] = {"limit": 50}
        r = rnd.random()
        if r < 0.2:
            params["risk"] = "high"
        elif r < 0.3:
            params["four_high"] = "any"
        elif r < 0.4:
            params["q"] = f"{rnd.randrange(10000):04d}"
        return "/v1/customers", params
    if kind == "portrait":
        return f"/v1/customers/{rnd.choice(m['customers'])}", {}
    return "/v1/tasks", {"view": rnd.choice(["today", "overdue", "upcoming"])}


async def load(
    url: str,
    managers: list[dict[str, Any]],
    tokens: list[str],
    rate: float,
    duration: float,
    warmup: float,
    seed: int,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Each manager sends one request every len(managers)/rate seconds on its own connection,
    staggered so the total is `rate` per second. Latency is measured from the scheduled instant,
    so a request queued behind a slow one is charged its wait (no coordinated omission)."""
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    lat: dict[str, list[float]] = defaultdict(list)
    by_second: dict[int, list[float]] = defaultdict(list)  # measured second -> latencies
    errors: dict[str, int] = defaultdict(int)
    statuses: dict[str, int] = defaultdict(int)
    period = len(managers) / rate
    # every slot whose instant falls inside warm-up + measured window: `rate` per second exactly
    per_manager = math.ceil((duration + warmup) / period)
    freeze_heap()  # the client's own collections must not stall it mid-phase
    t0 = time.perf_counter() + 1.0

    async def manager(i: int) -> None:
        rnd = random.Random(seed * 1000 + i)
        # one keep-alive connection per manager (a phone app keeps one open), on the lean client:
        # the generator shares the 2 cores with the server it measures
        conn = Connection(host, port, {"Authorization": f"Bearer {tokens[i]}"})
        for j in range(per_manager):
            scheduled = t0 + (i / rate) + j * period
            if scheduled - t0 >= warmup + duration:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = rnd.choices(kinds, weights)[0]
            path, params = request_for(kind, managers[i], rnd)
            if params:
                path += "?" + urlencode(params)
            try:
                code = str(await conn.get(path, timeout))
            except (TimeoutError, OSError, ValueError) as exc:  # the connection is closed and reopened
                code = type(exc).__name__
            elapsed_ms = (time.perf_counter() - scheduled) * 1000
            if scheduled - t0 < warmup:
                continue
            statuses[code] += 1
            if code != "200":
                errors[kind] += 1
            lat[kind].append(elapsed_ms)
            by_second[int(scheduled - t0 - warmup)].append(elapsed_ms)
        conn.close()

    await asyncio.gather(*(manager(i) for i in range(len(managers))))
    every = [v for vs in lat.values() for v in vs]
    return {
        "requests": len(every),
        "achieved_rps": round(len(every) / duration, 1),
        "status_counts": dict(statuses),
        "errors": dict(errors),
        "error_total": sum(errors.values()),
        "overall_ms": {
            "p50": pct(every, 50),
            "p95": pct(every, 95),
            "p99": pct(every, 99),
            "max": round(max(every), 2) if every else None,
        },
        "endpoints_ms": {
            k: {
                "n": len(v),
                "p50": pct(v, 50),
                "p95": pct(v, 95),
                "p99": pct(v, 99),
                "mean": round(statistics.fmean(v), 2) if v else None,
            }
            for k, v in lat.items()
        },
        # where the tail comes from: a steady queue spreads it over every second, a stall
        # (a collection, a checkpoint, the host) puts it in a few
        "worst_seconds": sorted(
            ({"second": sec, "n": len(v), "p99": pct(v, 99), "max": round(max(v), 1)} for sec, v in by_second.items()),
            key=lambda r: -(r["max"] or 0),
        )[:5],
    }


async def endpoint_queries(engine: Any, sm: Any, m: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """The statement behind each endpoint, as the service builds it (each is one native statement)."""
    from shared import clock
    from shared.manager import customer360

    p = Principal("staff", m["id"], "account_manager", Audience.MANAGER, m["org"])
    today = clock.today()
    now = datetime.now(clock.TZ)
    f = customers_service.CustomerFilters
    return {
        "list": [customers_service.list_query(p, filters=f(), limit=50, today=today)],
        "list_high_risk": [customers_service.list_query(p, filters=f(risk_levels=["high"]), limit=50, today=today)],
        "list_search": [customers_service.list_query(p, filters=f(q="1234"), limit=50, today=today)],
        "portrait": [
            customer360.visible_query(p, m["customers"][0], **portrait_service.read_params(today, now, 12, 20))
        ],
        "tasks": [tasks_service.list_query(p, view="today", today=today)],
    }


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []) or []:
        out += walk(child)
    return out


async def explain_all(sm: Any, queries: dict[str, list[tuple[str, Any]]], big: set[str]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    async with sm() as s:
        conn = await s.connection()
        for name, stmts in queries.items():
            items = []
            for sql, params in stmts:
                res = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, tuple(params))
                plan = res.scalar()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                root = plan[0]
                nodes = walk(root["Plan"])
                seq = sorted({n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"} & big)
                text_res = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, tuple(params))
                items.append(
                    {
                        "sql": " ".join(sql.split())[:2000],
                        "execution_ms": round(root.get("Execution Time", 0.0), 3),
                        "planning_ms": round(root.get("Planning Time", 0.0), 3),
                        "seq_scans_on_big_tables": seq,
                        "plan_text": "\n".join(r[0] for r in text_res.all()),
                    }
                )
            report[name] = {"queries": items, "total_execution_ms": round(sum(i["execution_ms"] for i in items), 3)}
        await s.rollback()
    return report


async def big_tables(sm: Any) -> tuple[set[str], int]:
    async with sm() as s:
        n = int(await s.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers'")) or 0)
        threshold = max(10_000, n // 10)  # "customer-sized": at least a tenth of the customers
        rows = (
            await s.execute(
                text("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND reltuples >= :t"), {"t": threshold}
            )
        ).all()
        return {r[0] for r in rows} | {"customers", "customer_profiles"}, n


_HISTORY = text(
    """
    INSERT INTO touches (customer_id, channel, occurred_at, outcome, cost_fen, visible_to_customer)
    SELECT c.id, (ARRAY['sms', 'app_push', 'outbound_call', 'hall'])[1 + (c.id + g) % 4],
           now() - ((c.id * 7919 + g * 104729) % 150) * interval '1 day',
           (ARRAY['reached', 'no_answer', 'accepted_offer', 'dismissed'])[1 + (c.id / 4 + g) % 4], 0, true
    FROM customers c CROSS JOIN generate_series(1, 2) AS g
    WHERE c.id >= :lo AND c.id < :hi
    """
)


async def prepare(engine: Any, n_customers: int) -> int:
    """Give the city a contact history (2 touches per customer over ~5 months) when it has
    almost none, so touch lookups are measured against a realistic `touches` table. Set-based,
    in chunks of 100,000 customers. Returns rows added."""
    async with engine.connect() as conn:
        have = int(await conn.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'touches'")) or 0)
        top = int(await conn.scalar(text("SELECT coalesce(max(id), 0) FROM customers")) or 0)
    if have >= n_customers // 10:
        return 0
    added = 0
    for lo in range(0, top + 1, 100_000):
        async with engine.begin() as conn:
            added += (await conn.execute(_HISTORY, {"lo": lo, "hi": lo + 100_000})).rowcount or 0
    # VACUUM, not only ANALYZE: autovacuum would have (its insert threshold), and without it every
    # last-contact probe of the list pays a heap fetch (the new rows are not all-visible yet)
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM (ANALYZE) touches"))
    return added


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", help="manager-app base URL, e.g. http://127.0.0.1:8002")
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    ap.add_argument("--managers", type=int, default=100)
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--no-prepare",
        dest="prepare",
        action="store_false",
        help="do not add a synthetic contact history when `touches` is nearly empty",
    )
    args = ap.parse_args()
    settings = Settings(DATABASE_URL=args.database_url, pool_size=4, max_overflow=0, statement_timeout_ms=60_000)
    engine = create_engine(settings, process="bench")
    sm = create_sessionmaker(engine)
    big, n_customers = await big_tables(sm)
    if args.prepare:
        added = await prepare(engine, n_customers)
        if added:
            print(f"· added a contact history of {added:,} touches", flush=True)
            big, n_customers = await big_tables(sm)
    managers = await pick_managers(sm, args.managers, args.seed)
    if not managers:
        print("no account managers with assigned customers: run the engine's nightly run first", file=sys.stderr)
        return 2
    tokens = [token(settings, m) for m in managers]
    print(
        f"· {n_customers:,} customers; {len(managers)} managers; {args.rate:g} req/s for {args.duration:g}s "
        f"(+{args.warmup:g}s warm-up) against {args.url}",
        flush=True,
    )
    load_before, host0 = os.getloadavg(), cpu_snapshot()
    result = await load(args.url, managers, tokens, args.rate, args.duration, args.warmup, args.seed)
    result["loadavg_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    result["machine_cpu"] = cpu_shares(host0, cpu_snapshot())  # warm-up included (bench/machine.py)
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "requests",
                    "achieved_rps",
                    "status_counts",
                    "error_total",
                    "overall_ms",
                    "loadavg_before_after",
                    "machine_cpu",
                )
            },
            indent=1,
        )
    )
    for k, v in result["endpoints_ms"].items():
        print(f"  {k:9s} n={v['n']:5d}  p50={v['p50']:7.2f} ms  p95={v['p95']:7.2f} ms  p99={v['p99']:7.2f} ms")
    print(
        "  worst seconds:",
        ", ".join(f"{w['second']}s max {w['max']} ms p99 {w['p99']}" for w in result["worst_seconds"]),
    )
    slowest = max(result["endpoints_ms"], key=lambda k: result["endpoints_ms"][k]["p99"] or 0)
    queries = await endpoint_queries(engine, sm, managers[0])
    plans = await explain_all(sm, queries, big)
    seq_violations = {
        name: [q["seq_scans_on_big_tables"] for q in r["queries"] if q["seq_scans_on_big_tables"]]
        for name, r in plans.items()
    }
    seq_violations = {k: v for k, v in seq_violations.items() if v}
    plan_key = {"list": "list", "portrait": "portrait", "tasks": "tasks"}[slowest]
    print(f"\n· slowest endpoint by p99: {slowest}; its queries (EXPLAIN ANALYZE, BUFFERS):")
    for q in plans[plan_key]["queries"]:
        print(f"\n-- {q['execution_ms']} ms: {q['sql'][:300]}")
        print(q["plan_text"])
    print(
        "\n· execution time per endpoint (sum of its queries, ms):",
        {k: v["total_execution_ms"] for k, v in plans.items()},
    )
    print("· seq scans on customer-sized tables:", seq_violations or "none")
    goal = {k: (result["endpoints_ms"].get(k, {}).get("p99") or 0) < GOAL_P99_MS for k in ("list", "portrait")}
    out = {
        "customers": n_customers,
        "managers": len(managers),
        "rate_rps": args.rate,
        "duration_s": args.duration,
        **result,
        "slowest_endpoint": slowest,
        "p99_goal_ms": GOAL_P99_MS,
        "p99_goal_met": goal,
        "seq_scan_on_big_tables": seq_violations,
        "big_tables_checked": sorted(big),
        "plans": plans,
        "cpu_count": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str, ensure_ascii=False))
    print(f"· wrote {args.out}")
    await engine.dispose()
    return 1 if seq_violations or result["error_total"] else 0


if __name__ == "__main__":
    sys.exit(run(main()))
