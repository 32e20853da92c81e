"""Four-high (seed 004) precision and recall on a generated city, per anomaly type.

    python bench/fourhigh_eval.py [--customers 30000] [--months 6] [--as-of YYYY-MM-DD] [--reuse DBNAME] [--keep]
                                  [--out FILE]

Creates a scratch database `tenure_bench_fourhigh_<hex>` on DATABASE_URL's server (or the
embedded PostgreSQL), migrates it, loads the city with `tenure_demo.generator.load_city` (run day
= --as-of, default today, so the month-to-date daily usage covers the current month up to yesterday), runs the
engine stages `features` and `four_high`, and compares the flags with the groups the generator
planted (`customers.attributes->>'planted'`):

    tariff -> high_tariff, payg_data -> high_payg, silence -> high_silence, arpu_mismatch -> high_arpu

Every other customer (normal, drifter, silent, vip and the other three anomaly groups) is a
negative for a type. Measured over the customers the engine scores (not churned), for the
monthly list (period = the last usage month's end) and the daily list (period = the run day,
from month-to-date usage). Prints the table, writes bench/results/fourhigh_eval.json, drops the
database unless --keep or --reuse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import clock
from shared.db.embedded import resolve_database_url, to_libpq_url, to_sync_url, with_database
from shared.db.engine import create_engine
from shared.db.migrate import upgrade
from shared.engine.__main__ import engine_settings
from shared.engine.features import latest_usage_month
from shared.engine.fourhigh import month_period
from shared.engine.runner import run_nightly

RESULTS = Path(__file__).resolve().parent / "results" / "fourhigh_eval.json"
PLANTED = {"tariff": "high_tariff", "payg_data": "high_payg", "silence": "high_silence", "arpu_mismatch": "high_arpu"}

EVAL_SQL = """
WITH pop AS (
    SELECT f.customer_id, coalesce(c.attributes->>'planted', 'normal') AS planted
    FROM customer_features f JOIN customers c ON c.id = f.customer_id
),
k AS (SELECT * FROM (VALUES ('tariff', 'high_tariff'), ('payg_data', 'high_payg'),
                            ('silence', 'high_silence'), ('arpu_mismatch', 'high_arpu')) AS v(kind, grp))
SELECT k.kind,
       count(*) FILTER (WHERE h.customer_id IS NOT NULL AND pop.planted = k.grp) AS tp,
       count(*) FILTER (WHERE h.customer_id IS NOT NULL AND pop.planted <> k.grp) AS fp,
       count(*) FILTER (WHERE h.customer_id IS NULL AND pop.planted = k.grp) AS fn,
       count(*) AS scored
FROM k CROSS JOIN pop
LEFT JOIN four_high_flags h ON h.customer_id = pop.customer_id AND h.kind = k.kind AND h.period = :period
GROUP BY k.kind
"""

FP_SQL = """
SELECT h.kind, coalesce(c.attributes->>'planted', 'normal') AS planted, count(*) AS n
FROM four_high_flags h JOIN customers c ON c.id = h.customer_id
WHERE h.period = :period
GROUP BY 1, 2 ORDER BY 1, 3 DESC
"""


def _admin(server: str, sql: str) -> None:
    eng = create_sync_engine(to_sync_url(server), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(sql))
    eng.dispose()


def _metrics(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


async def evaluate(eng: AsyncEngine, run_date: date, *, run_engine: bool = True) -> dict:
    """Run features + four_high for `run_date` (unless run_engine is False) and score both lists
    against the planted groups: {"monthly"|"daily": {"period", "scored", "kinds": {kind: {tp, fp,
    fn, precision, recall, f1}}, "flagged_by_group": {kind: {group: n}}}}. Also used by
    tests/shared/engine/test_fourhigh_calibration.py."""
    if run_engine:
        await run_nightly(eng, run_date=run_date, only=["features", "four_high"], parallel=2, chunk=10_000)
    async with eng.connect() as c:
        last = await latest_usage_month(c, run_date)  # type: ignore[arg-type]
        periods = {"monthly": month_period(last), "daily": run_date}
        out: dict = {}
        for name, period in periods.items():
            rows = (await c.execute(text(EVAL_SQL), {"period": period})).all()
            out[name] = {
                "period": period.isoformat(),
                "scored": rows[0].scored if rows else 0,
                "kinds": {r.kind: _metrics(r.tp, r.fp, r.fn) for r in sorted(rows, key=lambda r: r.kind)},
            }
            fps = (await c.execute(text(FP_SQL), {"period": period})).all()
            out[name]["flagged_by_group"] = {}
            for r in fps:
                out[name]["flagged_by_group"].setdefault(r.kind, {})[r.planted] = r.n
    return out


async def _evaluate_url(url: str, run_date: date) -> dict:
    eng = create_engine(engine_settings(), process="bench-fourhigh", url=url)
    try:
        return await evaluate(eng, run_date)
    finally:
        await eng.dispose()


def _print(res: dict) -> None:
    for name, v in res.items():
        print(f"\n{name} list (period {v['period']}, {v['scored']:,} customers scored)")
        print(f"  {'type':<14} {'TP':>6} {'FP':>6} {'FN':>6} {'precision':>10} {'recall':>8} {'F1':>6}")
        for kind, m in v["kinds"].items():
            print(
                f"  {kind:<14} {m['tp']:>6} {m['fp']:>6} {m['fn']:>6} {m['precision']:>10.3f} {m['recall']:>8.3f} {m['f1']:>6.3f}"
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", type=date.fromisoformat, default=None, help="the run day (default today)")
    ap.add_argument("--reuse", default=None, help="an existing loaded database (not dropped)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    from tenure_demo.generator import load_city

    server = to_libpq_url(resolve_database_url(None))
    name = args.reuse or f"tenure_bench_fourhigh_{os.urandom(3).hex()}"
    url = with_database(server, name)
    run_date = args.as_of or clock.today()
    result: dict = {
        "benchmark": "fourhigh_eval",
        "customers": args.customers,
        "months": args.months,
        "seed": args.seed,
        "run_date": run_date.isoformat(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        if not args.reuse:
            _admin(server, f'CREATE DATABASE "{name}"')
            upgrade(url)
            print(f"loading {args.customers:,} customers × {args.months} months into {name} …", flush=True)
            load_city(
                url,
                customers=args.customers,
                months=args.months,
                seed=args.seed,
                as_of=run_date,
                progress=lambda m: print(m, file=sys.stderr, flush=True),
            )
        result["lists"] = asyncio.run(_evaluate_url(url, run_date))
        _print(result["lists"])
    finally:
        if not (args.keep or args.reuse):
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
