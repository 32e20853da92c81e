"""Import benchmark: generate a 1,000,000-row monthly-usage CSV and load it, twice.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_bench.py [rows]

Runs in a scratch database (created, migrated, dropped). Prints rows/min for the first load
(all inserts) and for the re-import of the same file (validated and merged, 0 rows changed), and
writes bench/results/import_bench.json. The file has 250,000 subscribers × 4 months.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from shared.auth.principals import Audience, Principal
from shared.backoffice.imports import service as imports
from shared.db.embedded import resolve_database_url, to_libpq_url, to_sync_url, with_database
from shared.db.engine import create_engine as create_async_engine_for
from shared.db.engine import create_sessionmaker
from shared.db.migrate import upgrade
from shared.settings import Settings

MONTHS = ("2031-01", "2031-02", "2031-03", "2031-04")
HEADER = (
    "subscriber_id,bill_month,voice_min,data_mb,sms,voice_allowance_min,data_allowance_mb,broadband_gb,"
    "active_days,plan_fee_fen,addon_fee_fen,roaming_fen,long_distance_fen,payg_data_fen,other_fee_fen,"
    "bill_fen,topup_fen,topup_count,balance_end_fen\n"
)


def generate(path: Path, subscribers: int) -> int:
    rng = random.Random(42)
    n = 0
    with path.open("w") as f:
        f.write(HEADER)
        for m in MONTHS:
            lines = []
            for cid in range(1, subscribers + 1):
                fee = (5800, 8800, 12800, 19800)[cid % 4]
                roam = rng.randrange(0, 3000)
                lines.append(
                    f"{cid},{m},{rng.randrange(900)},{rng.randrange(40000)},{rng.randrange(60)},500,20480,"
                    f"{rng.randrange(300)},{rng.randrange(32)},{fee},0,{roam},0,0,0,{fee + roam},{fee},1,"
                    f"{rng.randrange(-500, 9000)}\n"
                )
            f.writelines(lines)
            n += subscribers
    return n


async def load(url: str, path: Path) -> list[dict[str, object]]:
    settings = Settings(DATABASE_URL=url, env="bench", statement_timeout_ms=1_800_000)
    engine = create_async_engine_for(settings, process="bench")
    sm = create_sessionmaker(engine)
    principal = Principal("staff", 0, "admin", Audience.ADMIN)
    out = []
    try:
        for label in ("first load", "re-import (same file)"):
            started = time.perf_counter()
            async with sm.begin() as s:
                job = await imports.create_job(
                    s, kind="usage", filename=path.name, sha256=imports.file_sha256(path), created_by=None
                )
            await imports.run_import(sm, job_id=job.id, path=path, principal=principal)
            elapsed = time.perf_counter() - started
            async with sm() as s:
                job = await imports.get_job(s, job.id)
            rate = job.rows_ok / elapsed * 60
            print(
                f"{label:24s} status={job.status} rows_ok={job.rows_ok:,} rows_changed={job.rows_changed:,} "
                f"{elapsed:6.1f} s  →  {rate:,.0f} rows/min",
                flush=True,
            )
            out.append(
                {
                    "run": label,
                    "status": job.status,
                    "rows_ok": job.rows_ok,
                    "rows_changed": job.rows_changed,
                    "seconds": round(elapsed, 2),
                    "rows_per_min": round(rate),
                }
            )
    finally:
        await engine.dispose()
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    subscribers = rows // len(MONTHS)
    server = to_libpq_url(resolve_database_url(os.environ.get("DATABASE_URL")))
    name = f"tenure_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(to_sync_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = with_database(server, name)
    try:
        upgrade(url)
        eng = create_engine(to_sync_url(url))
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO customers (id, phone, phone_last4, name, join_date) "
                    "SELECT g, '138' || lpad(g::text, 8, '0'), right(lpad(g::text, 8, '0'), 4), 'bench', DATE '2020-01-01' "
                    "FROM generate_series(1, :n) g"
                ),
                {"n": subscribers},
            )
        eng.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "usage_1m.csv"
            t0 = time.perf_counter()
            total = generate(path, subscribers)
            print(f"generated {total:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
            results = asyncio.run(load(url, path))
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out = Path(__file__).parent / "results" / "import_bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": total, "cpu_count": os.cpu_count(), "runs": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
