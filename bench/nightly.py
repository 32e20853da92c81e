"""Benchmark: the full nightly engine run over N generated subscribers (default 1,000,000).

    python bench/nightly.py [--customers 1000000] [--months 6] [--night rerun|real] [--reuse DBNAME] [--keep]
                            [--no-churn] [--out FILE]

`--night real` applies one realistic day of changes (bench/real_day.py: ~3 % of customers with new
usage or bills, complaints, competitor-hotline calls, 1 % subscriptions and cancellations, contacts,
key moments, customer changes, tag-rule edits) between the cold and the steady run, so the second
run is a real night rather than a rerun over unchanged data. bench/nightly_scaling.py runs this
script at several sizes and prints one table.

Creates a scratch database `tenure_bench_nightly_<hex>` on DATABASE_URL's server (or the embedded
PostgreSQL), migrates it, loads the city with `tenure_demo.generator.load_city`, then runs the nightly run twice in this
process: the first ("cold") builds everything from nothing — every customer's features, profile
and tags are new rows; the second ("steady") is what a normal night costs (only changes are
written; a VACUUM (ANALYZE) between the two stands for the day of autovacuum between two
nights, and is timed separately). Prints per-stage seconds and rows, total seconds and the peak RSS of this process
(the engine streams nothing per customer into Python, so it stays flat), records the machine's
load average (other processes on a shared box skew the figures), writes
bench/results/nightly.json, and drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from shared import clock
from shared.db.embedded import resolve_database_url, to_libpq_url, to_sync_url, with_database
from shared.db.engine import create_engine
from shared.db.migrate import upgrade
from shared.engine.__main__ import engine_settings
from shared.engine.runner import STAGE_NAMES, run_nightly
from tenure_demo.generator import load_city

RESULTS = Path(__file__).resolve().parent / "results" / "nightly.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _admin(server: str, sql: str) -> None:
    eng = create_sync_engine(to_sync_url(server), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(sql))
    eng.dispose()


def _vacuum(url: str) -> None:
    eng = create_sync_engine(to_sync_url(url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("VACUUM (ANALYZE)"))
    eng.dispose()


def _load(url: str, customers: int, months: int, as_of: date) -> dict:
    info = load_city(
        url, customers=customers, months=months, as_of=as_of, progress=lambda m: print(m, file=sys.stderr, flush=True)
    )
    return {"loader": "tenure_demo.generator", "elapsed_s": info.get("elapsed_s"), "rows": info.get("rows")}


async def _run(url: str, run_date: date, stages: list[str], parallel: int, chunk: int, incremental: bool) -> dict:
    eng = create_engine(engine_settings(), process="bench-nightly", url=url)
    t = time.perf_counter()
    run_id = await run_nightly(
        eng, run_date=run_date, only=stages, parallel=parallel, chunk=chunk, incremental=incremental
    )
    total = round(time.perf_counter() - t, 1)
    async with eng.connect() as c:
        rows = (
            await c.execute(
                text("SELECT stage, status, rows, seconds FROM engine_run_stages WHERE run_id = :r"), {"r": run_id}
            )
        ).all()
    await eng.dispose()
    by = {
        r.stage: {
            "seconds": round(r.seconds, 1),
            "rows": int(r.rows),
            "rows_per_s": round(int(r.rows) / r.seconds) if r.seconds else None,
            "status": r.status,
        }
        for r in rows
    }
    return {"run_id": run_id, "total_s": total, "stages": {s: by[s] for s in STAGE_NAMES if s in by}}


def _print(name: str, res: dict) -> None:
    print(f"\n{name}: total {res['total_s']} s")
    for stage, v in res["stages"].items():
        rate = f"{v['rows_per_s']:>12,} rows/s" if v.get("rows_per_s") is not None else ""
        print(f"  {stage:<12} {v['seconds']:>8.1f} s  {v['rows']:>12,} rows {rate}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--no-churn", action="store_true", help="skip the churn stage (measured separately)")
    ap.add_argument("--skip", default="", help="comma-separated stages to leave out (e.g. tags)")
    ap.add_argument(
        "--reuse", default=None, help="an existing loaded database to run on (not dropped): both runs are then steady"
    )
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument(
        "--night",
        choices=["rerun", "real"],
        default="rerun",
        help="what comes before the steady run: nothing changed (rerun) or one realistic day of changes (real)",
    )
    ap.add_argument(
        "--full", action="store_true", help="every run recomputes every customer (no incremental churn scoring)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    ap.add_argument("--load-only", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load_only:
        info = _load(args.load_only, args.customers, args.months, clock.today())
        print(json.dumps(info, default=str))
        return 0

    server = to_libpq_url(resolve_database_url(None))
    name = args.reuse or f"tenure_bench_nightly_{uuid.uuid4().hex[:6]}"
    url = with_database(server, name)
    run_date = clock.today()
    skip = {x for x in args.skip.split(",") if x} | ({"churn"} if args.no_churn else set())
    stages = [s for s in STAGE_NAMES if s not in skip]
    result: dict = {
        "benchmark": "nightly",
        "customers": args.customers,
        "months": args.months,
        "run_date": run_date.isoformat(),
        "parallel": args.parallel,
        "chunk": args.chunk,
        "stages_run": stages,
        "night": args.night,
        "incremental": not args.full,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_before": os.getloadavg()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        if not args.reuse:
            _admin(server, f'CREATE DATABASE "{name}"')
            upgrade(url)
            print(f"loading {args.customers:,} customers × {args.months} months into {name} …", flush=True)
            # In a child process, so the peak RSS below is the engine's alone (the loader holds
            # numpy arrays for the whole city).
            t_load = time.perf_counter()
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load-only",
                    url,
                    "--customers",
                    str(args.customers),
                    "--months",
                    str(args.months),
                ],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            print(out.stdout, end="")
            result["load"] = json.loads(out.stdout.strip().splitlines()[-1])
            result["load"]["wall_s"] = round(time.perf_counter() - t_load, 1)
        cold = asyncio.run(_run(url, run_date, stages, args.parallel, args.chunk, not args.full))
        _print("first run on a reused database" if args.reuse else "cold run (everything new)", cold)
        result["cold"] = cold
        # A night later autovacuum has cleaned up after the cold run's writes (it rewrites every
        # row at least once); here the day between two runs is one VACUUM, timed separately.
        t = time.perf_counter()
        _vacuum(url)
        result["vacuum_between_runs_s"] = round(time.perf_counter() - t, 1)
        print(
            f"\nVACUUM (ANALYZE) between the runs, as autovacuum does during the day: "
            f"{result['vacuum_between_runs_s']} s"
        )
        if args.night == "real":
            from real_day import apply_day

            day = apply_day(url)
            result["day"] = day
            print(f"\none day of changes applied in {day['apply_s']} s (then VACUUM (ANALYZE) {day['vacuum_s']} s):")
            for what, n in day["changes"].items():
                print(f"  {n:>10,}  {what}")
        steady = asyncio.run(_run(url, run_date, stages, args.parallel, args.chunk, not args.full))
        _print(
            "real night (after one day of changes)" if args.night == "real" else "steady run (rerun, nothing changed)",
            steady,
        )
        result["steady"] = steady
        result["peak_rss_mb"] = _rss_mb()
        result["machine"]["load_avg_after"] = os.getloadavg()
        print(
            f"\npeak RSS of the engine process: {result['peak_rss_mb']} MB; load average before "
            f"{result['machine']['load_avg_before']}, after {result['machine']['load_avg_after']}"
        )
    finally:
        if not (args.keep or args.reuse):
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
