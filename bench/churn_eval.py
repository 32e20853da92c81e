"""Benchmark the churn model: on a CSV (cross-validated) or on a generated city (held-out months).

python bench/churn_eval.py csv PATH.csv --label Churn [--id customerID] [--folds 10]
    same as `python -m shared.churn evaluate …`; writes bench/results/churn_eval.json
python bench/churn_eval.py city [--customers 100000] [--months 7] [--keep] [--reuse DBNAME]
    [--score-only] creates a scratch database, loads the city with tenure_demo.generator.load_city, trains
    (registry.train: out-of-time when the history allows, else held-out customers), then
    scores every active customer twice (cold, rerun) with score_all; prints the model's
    ROC AUC / top-decile lift / precision at capacity and the seconds and peak RSS; writes
    bench/results/churn_city.json and drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from shared.churn import registry, scoring
from shared.churn.__main__ import main as churn_main
from shared.db.embedded import resolve_database_url, to_libpq_url, to_sync_url, with_database
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.migrate import upgrade
from shared.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "churn_city.json"


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _admin(server: str, sql: str) -> None:
    eng = create_sync_engine(to_sync_url(server), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(sql))
    eng.dispose()


async def _train_and_score(url: str, horizon: int, score_only: bool = False) -> dict:
    settings = Settings(DATABASE_URL=url, statement_timeout_ms=600_000, idle_in_tx_timeout_ms=600_000)
    eng = create_engine(settings, process="bench-churn")
    sm = create_sessionmaker(eng)
    out: dict = {}
    try:
        async with eng.begin() as c:
            for table in ("customers", "monthly_usage", "competitor_calls", "complaints", "handsets"):
                await c.execute(text(f"ANALYZE {table}"))
        t = time.perf_counter()
        if score_only:
            async with sm() as s:
                version = (await registry.load_active(s) or (None, None))[0]
        if not score_only or version is None:
            version = await registry.train(sm, horizon=horizon, activate=True)
            out["train_s"] = round(time.perf_counter() - t, 1)
        async with sm() as s:
            model = await registry.get(s, version)
        out["model"] = {k: model[k] for k in ("version", "algorithm", "train_from", "train_to")}
        out["metrics"] = model["metrics"]
        out["factor_ranking"] = [(f["factor"], f["information_gain"]) for f in model["factor_ranking"][:8]]
        for run in ("score_cold", "score_rerun"):
            t = time.perf_counter()
            out[f"{run}_rows"] = await scoring.score_all(sm)
            out[f"{run}_s"] = round(time.perf_counter() - t, 1)
        async with sm() as s:
            out["risk_levels"] = dict(
                (await s.execute(text("SELECT risk_level, count(*) FROM customer_profiles GROUP BY 1"))).all()
            )
            planted = (
                await s.execute(
                    text(
                        "SELECT c.attributes->>'planted' AS g, count(*), avg(p.warning_coefficient), "
                        "avg((p.risk_level = 'high')::int) FROM customer_profiles p JOIN customers c ON c.id = p.customer_id "
                        "GROUP BY 1 ORDER BY 1"
                    )
                )
            ).all()
            out["by_planted_group"] = {
                str(g): {"n": n, "mean_warning": round(float(w or 0), 2), "high_share": round(float(h or 0), 3)}
                for g, n, w, h in planted
            }
    finally:
        await eng.dispose()
    return out


def _city(args: argparse.Namespace) -> int:
    from tenure_demo.generator import load_city

    server = to_libpq_url(resolve_database_url(None))
    name = args.reuse or f"tenure_bench_churn_{uuid.uuid4().hex[:6]}"
    url = with_database(server, name)
    result: dict = {
        "benchmark": "churn_city",
        "customers": args.customers,
        "months": args.months,
        "horizon": args.horizon,
        "cpus": os.cpu_count(),
        "load_avg_before": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        if not args.reuse:
            _admin(server, f'CREATE DATABASE "{name}"')
            print(f"scratch database {name}", flush=True)
            upgrade(url)
            info = load_city(url, customers=args.customers, months=args.months, progress=lambda m: print(m, flush=True))
            result["load_s"] = info.get("elapsed_s")
        result.update(asyncio.run(_train_and_score(url, args.horizon, args.score_only)))
        result["peak_rss_mb"] = _rss_mb()
        result["load_avg_after"] = os.getloadavg()
    finally:
        if not (args.keep or args.reuse):
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    m = result["metrics"]
    print(
        f"\nmodel {result['model']['algorithm']} ({m['evaluation']}): ROC AUC {m['roc_auc']:.4f}, top-decile lift "
        f"{m['top_decile_lift']:.2f}, precision at capacity {m['precision_at_capacity']:.3f} "
        f"(test rows {m['test_rows']:,}, churners {m['test_churners']:,})"
    )
    print(
        f"train {result.get('train_s', '-')} s; score_all {result['score_cold_rows']:,} customers in "
        f"{result['score_cold_s']} s (rerun {result['score_rerun_s']} s); peak RSS {result['peak_rss_mb']} MB; "
        f"load average {result['load_avg_before']} -> {result['load_avg_after']}"
    )
    print("planted groups:", json.dumps(result["by_planted_group"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {RESULTS}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "csv":
        return churn_main(["evaluate", *sys.argv[2:]])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["city"])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=7)
    ap.add_argument("--horizon", type=int, default=2)
    ap.add_argument("--reuse", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--score-only", action="store_true", help="with --reuse: score with the active model, no training")
    return _city(ap.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
