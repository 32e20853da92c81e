"""CPU per request of a running service's worker processes, and of the PostgreSQL backends serving it.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> \\
      .venv/bin/python bench/request_cpu.py <uvicorn master pid> [--url http://127.0.0.1:8001] \\
        --kind checkin|queries|account|points|checkin-status|portrait [--requests 4000] [--concurrency 8]

On a 2-core box shared with other work, latency and throughput are noise; the CPU a worker spends
per request is not. This reads utime+stime of every child of the uvicorn master from
/proc/<pid>/stat (and of the database backends whose application_name names the service, from
pg_stat_activity) before and after N requests sent in a closed loop at a fixed concurrency (after
a warm-up of N/4 not counted), and prints milliseconds of CPU per request for each. Tokens are
minted with the dev JWT secret (the server must use it). `portrait` needs manager assignments
(the engine's nightly run). Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from lean_http import Connection

from shared import clock
from shared.auth.principals import Audience, Principal
from shared.auth.tokens import issue_access_token
from shared.db.embedded import resolve_database_url, to_libpq_url
from shared.settings import Settings

try:
    from uvloop import run
except ImportError:  # pragma: no cover
    from asyncio import run

TICKS = os.sysconf("SC_CLK_TCK")
QUERIES = ["/v1/account", "/v1/points", "/v1/checkin"]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_s(pids: list[int]) -> float:
    """utime+stime of these processes, in seconds (a process gone since is counted as 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pid", type=int, help="the uvicorn master process (its children are the workers)")
    ap.add_argument("--url", default="http://127.0.0.1:8001")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument(
        "--kind", default="queries", choices=["checkin", "queries", "account", "points", "checkin-status", "portrait"]
    )
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--app-name", default=None, help="application_name prefix of the service's backends")
    args = ap.parse_args()
    settings = Settings()
    dsn = to_libpq_url(resolve_database_url(args.database_url)).replace("postgresql+psycopg://", "postgresql://")
    db = await asyncpg.connect(dsn)
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    rnd = random.Random(7)
    warm = max(1, args.requests // 4)
    total = warm + args.requests

    if args.kind == "portrait":
        rows = await db.fetch(
            "SELECT a.manager_id, su.org_unit_id, array_agg(a.customer_id ORDER BY a.customer_id) AS cs"
            " FROM manager_assignments a JOIN staff_users su ON su.id = a.manager_id"
            " WHERE su.active AND su.role = 'account_manager' GROUP BY 1, 2"
        )
        if not rows:
            sys.exit("no manager assignments: run the engine's night first (python -m shared.engine run)")
        toks = {}
        for r in rows:
            ver = await db.fetchval("SELECT token_version FROM staff_users WHERE id = $1", r["manager_id"])
            p = Principal("staff", r["manager_id"], "account_manager", Audience.MANAGER, r["org_unit_id"], {}, ver)
            toks[r["manager_id"]] = (issue_access_token(settings, p, ttl_s=3600), list(r["cs"][:200]))
        managers = list(toks.values())

        def next_request() -> tuple[str, str, dict[str, str]]:
            tok, cs = rnd.choice(managers)
            return "GET", f"/v1/customers/{rnd.choice(cs)}", {"Authorization": f"Bearer {tok}"}

        app_name = args.app_name or "manager-app"
    else:
        app_name = args.app_name or "customer-app"
        ids = [
            r[0]
            for r in await db.fetch(
                "SELECT c.id FROM customers c WHERE c.status = 'active' AND NOT EXISTS"
                " (SELECT 1 FROM checkins k WHERE k.customer_id = c.id AND k.local_date = $1) ORDER BY c.id LIMIT $2",
                clock.today(),
                total if args.kind == "checkin" else 5000,
            )
        ]
        if args.kind == "checkin" and len(ids) < total:
            sys.exit(f"only {len(ids)} customers left without a check-in today; need {total}")
        toks_c: dict[int, str] = {}

        def tok_for(cid: int) -> str:
            if cid not in toks_c:
                p = Principal("customer", cid, "customer", Audience.CUSTOMER)
                toks_c[cid] = issue_access_token(settings, p, ttl_s=3600)
            return toks_c[cid]

        ids_iter = iter(ids)
        paths = {"account": ["/v1/account"], "points": ["/v1/points"], "checkin-status": ["/v1/checkin"]}.get(
            args.kind, QUERIES
        )

        def next_request() -> tuple[str, str, dict[str, str]]:
            if args.kind == "checkin":
                cid = next(ids_iter)
                return (
                    "POST",
                    "/v1/checkin",
                    {"Authorization": f"Bearer {tok_for(cid)}", "Idempotency-Key": f"cpu-{uuid.uuid4().hex}"},
                )
            return "GET", rnd.choice(paths), {"Authorization": f"Bearer {tok_for(rnd.choice(ids))}"}

    requests = [next_request() for _ in range(total)]  # minted ahead: signing is not measured
    workers = children(args.pid)
    if not workers:
        sys.exit(f"process {args.pid} has no children (pass the uvicorn master's pid)")

    async def backends() -> list[int]:
        return [
            r[0]
            for r in await db.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", f"{settings.env}.{app_name}"
            )
        ]

    lat: dict[int, list[float]] = {}

    async def drive(batch: list[tuple[str, str, dict[str, str]]]) -> dict[int, int]:
        codes: dict[int, int] = {}
        queue = list(reversed(batch))
        lat.clear()

        async def loop() -> None:
            conn = Connection(host, port)
            while queue:
                method, path, headers = queue.pop()
                started = time.perf_counter()
                code = await conn.request(method, path, headers)
                codes[code] = codes.get(code, 0) + 1
                lat.setdefault(code, []).append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(loop() for _ in range(args.concurrency)))
        return codes

    await drive(requests[:warm])
    pg = await backends()
    w0, p0, t0 = cpu_s(workers), cpu_s(pg), time.perf_counter()
    codes = await drive(requests[warm:])
    w1, p1, elapsed = cpu_s(workers), cpu_s(pg), time.perf_counter() - t0
    n = args.requests
    out: dict[str, Any] = {
        "kind": args.kind,
        "requests": n,
        "concurrency": args.concurrency,
        "status": codes,
        "workers": len(workers),
        "worker_cpu_ms_per_request": round((w1 - w0) * 1000 / n, 3),
        "pg_backends": len(pg),
        "pg_cpu_ms_per_request": round((p1 - p0) * 1000 / n, 3),
        "wall_req_per_s": round(n / elapsed, 1),
        # noisy on a shared box; with --concurrency past the admission limit it shows 503s are fast
        "p50_p99_ms_by_status": {
            c: [round(sorted(v)[len(v) // 2], 1), round(sorted(v)[int(len(v) * 0.99)], 1)] for c, v in lat.items()
        },
    }
    print(
        f"{args.kind}: {n} requests, status {codes}; worker CPU {out['worker_cpu_ms_per_request']} ms/request "
        f"({len(workers)} workers), PostgreSQL backends {out['pg_cpu_ms_per_request']} ms/request ({len(pg)}); "
        f"{out['wall_req_per_s']} req/s wall, p50/p99 ms {out['p50_p99_ms_by_status']} (noisy)"
    )
    print(json.dumps(out))
    await db.close()


if __name__ == "__main__":
    sys.exit(run(main()))
