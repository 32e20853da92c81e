"""Benchmark: load N subscribers (default 1,000,000) with months of usage into a scratch database.

    python bench/load_subscribers.py [--customers 1000000] [--months 7] [--keep]

Uses DATABASE_URL's server (or the embedded PostgreSQL), creates `tenure_bench_<hex>`, migrates
it, runs `tenure_demo.generator.load_city`, prints per-table rows and rows/s, writes
bench/results/load_subscribers.json and drops the database unless --keep. The machine's load
average is recorded before and after: on a shared box other processes' CPU use skews the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from shared.db.embedded import resolve_database_url, to_libpq_url, with_database
from shared.db.migrate import upgrade
from tenure_demo.generator import load_city

RESULTS = Path(__file__).resolve().parent / "results" / "load_subscribers.json"


class ServerCpu(threading.Thread):
    """CPU seconds used by the scratch database's backends (and their parallel workers).

    Polls pg_stat_activity and reads /proc/<pid>/stat, so it only sees a server on this machine;
    on a shared box it tells the generator's own cost apart from the wall clock.
    """

    def __init__(self, server: str, dbname: str) -> None:
        super().__init__(daemon=True)
        self.server, self.dbname = server, dbname
        self.seen: dict[int, float] = {}
        self.done = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            while not self.done.wait(0.25):
                pids = [
                    p for (p,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,))
                ]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    used = (int(fields[11]) + int(fields[12])) / self.tick
                    self.seen[pid] = max(self.seen.get(pid, 0.0), used)

    def total(self) -> float | None:
        self.done.set()
        self.join()
        return round(sum(self.seen.values()), 1) if self.seen else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=7)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    server = to_libpq_url(resolve_database_url(None))
    name = f"tenure_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    url = with_database(server, name)
    load_before = os.getloadavg()
    try:
        upgrade(url)
        print(
            f"scratch database {name} migrated; load average {load_before[0]:.2f} {load_before[1]:.2f} "
            f"{load_before[2]:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        sampler = ServerCpu(server, name)
        sampler.start()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        result = load_city(
            url,
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            workers=args.workers,
            progress=lambda s: print(s, flush=True),
        )
        elapsed = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = round(cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime, 1)
        server_cpu = sampler.total()
    finally:
        if not args.keep:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    load_after = os.getloadavg()
    rows = result["rows"]
    total = sum(rows.values())
    print(f"\n{'table':<18}{'rows':>12}")
    for table, n in rows.items():
        print(f"{table:<18}{n:>12,}")
    print(f"{'total':<18}{total:>12,}")
    print(
        f"\n{args.customers:,} subscribers × {args.months} months: {elapsed:.1f}s elapsed, "
        f"{total / elapsed:,.0f} rows/s, {args.customers / elapsed:,.0f} subscribers/s"
    )
    print(
        f"CPU used: generator (Python) {client_cpu}s, PostgreSQL backends "
        f"{'n/a (remote server)' if server_cpu is None else f'{server_cpu}s'}"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min) on {os.cpu_count()} CPUs")
    out = {
        "benchmark": "load_subscribers",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "customers": args.customers,
        "months": args.months,
        "seed": args.seed,
        "workers": args.workers,
        "elapsed_s": round(elapsed, 2),
        "rows": rows,
        "rows_total": total,
        "rows_per_s": round(total / elapsed),
        "subscribers_per_s": round(args.customers / elapsed),
        "timings": result["timings"],
        "cpu_s": {"generator_python": client_cpu, "postgres_backends": server_cpu},
        "restore_steps": result["restore_steps"],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": pg_version,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        },
        "database_kept": name if args.keep else None,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(RESULTS.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
