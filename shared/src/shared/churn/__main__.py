"""Command line: evaluate the pipeline on a CSV, or train / list / activate / score on the platform DB.

    python -m shared.churn evaluate PATH.csv --label Churn [--id customerID] [--folds 10] [--positive Yes]
    python -m shared.churn train [--horizon 2] [--activate]
    python -m shared.churn list
    python -m shared.churn activate VERSION
    python -m shared.churn score
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.churn import registry, scoring
from shared.churn.evaluate import evaluate_table
from shared.churn.pipeline import CANDIDATE_BY_NAME, CANDIDATES
from shared.churn.tabular import TableError, load_csv
from shared.db.embedded import REPO_ROOT
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.transactions import own_transaction
from shared.settings import Settings

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "churn_eval.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m shared.churn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="cross-validate the churn pipeline on a CSV with a label column")
    ev.add_argument("path")
    ev.add_argument("--label", required=True, help="label column (churned or not)")
    ev.add_argument("--id", dest="id_column", help="customer id column: reported, never used as a feature")
    ev.add_argument("--positive", help="label value meaning churned (default: yes/true/1/churn..., else minority)")
    ev.add_argument("--folds", type=int, default=10)
    ev.add_argument("--capacity", type=float, default=0.05,
                    help="contact capacity: share of the base if <= 1, else a head count (default 0.05)")
    ev.add_argument("--exclude", default="", help="comma-separated columns to leave out (e.g. post-churn fields)")
    ev.add_argument("--candidates", default="", help="comma-separated subset of candidate models")
    ev.add_argument("--no-nested", action="store_true", help="skip the nested CV (faster, less honest)")
    ev.add_argument("--delimiter")
    ev.add_argument("--out", default=str(DEFAULT_OUT), help=f"JSON report path (default {DEFAULT_OUT})")
    tr = sub.add_parser("train", help="train a model on the platform's history and register it")
    tr.add_argument("--horizon", type=int, default=2, help="months after the cut-off in which churn is the label")
    tr.add_argument("--activate", action="store_true")
    tr.add_argument("--candidate", default="auto")
    sub.add_parser("list", help="registered models and their metrics")
    ac = sub.add_parser("activate", help="make a registered model the one the nightly run scores with")
    ac.add_argument("version", type=int)
    sub.add_parser("score", help="score every active customer with the active model")
    return p


def _evaluate(args: argparse.Namespace) -> int:

    try:
        table = load_csv(args.path, label=args.label, id_column=args.id_column, positive=args.positive,
                         exclude=[c for c in args.exclude.split(",") if c], delimiter=args.delimiter)
    except (TableError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [c for c in args.candidates.split(",") if c]
    unknown = [n for n in names if n not in CANDIDATE_BY_NAME]
    if unknown:
        print(f"error: unknown candidates {unknown}; known: {list(CANDIDATE_BY_NAME)}", file=sys.stderr)
        return 2
    candidates = [CANDIDATE_BY_NAME[n] for n in names] if names else list(CANDIDATES)
    report = evaluate_table(table, folds=args.folds, capacity=args.capacity, candidates=candidates,
                            nested=not args.no_nested)
    report = {"dataset": str(Path(args.path).name), "label": args.label, "id_column": args.id_column, **report}
    _print_report(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nwrote {out}")
    return 0


def _print_report(r: dict) -> None:
    print(f"{r['dataset']}: {r['rows']} rows, churn rate {r['base_rate']:.1%} (positive = {r['positive_label']!r})")
    print(f"features: {len(r['features']['numeric'])} numeric, {len(r['features']['categorical'])} categorical;"
          f" not used: {r['not_features']}")
    print(f"\n{r['folds']}-fold cross-validation (preprocessing inside each fold, no resampling):")
    for c in r["candidates"]:
        print(f"  {c['config']:<15} ROC AUC {c['roc_auc_mean']:.4f} ± {c['roc_auc_std']:.4f}   "
              f"top-decile lift {c['top_decile_lift']:.2f}   precision@{r['capacity']} {c['precision_at_capacity']:.3f}"
              f"   ({c['seconds']}s)")
    m = r["metrics"]
    print(f"\nchosen: {r['chosen']}  ROC AUC {m['roc_auc_mean']:.4f} ± {m['roc_auc_std']:.4f}, top-decile lift "
          f"{m['top_decile_lift']:.2f}, precision at capacity {r['capacity']}: {m['precision_at_capacity']:.3f}")
    if "nested" in r:
        n = r["nested"]
        print(f"nested CV (choice made inside each outer fold): ROC AUC {n['roc_auc_mean']:.4f} ± "
              f"{n['roc_auc_std']:.4f}, top-decile lift {n['top_decile_lift']:.2f}")
    print("\nkey churn factors by information gain (bits):")
    for f in r["factor_ranking"][:12]:
        risk = f["riskiest"]
        print(f"  {f['rank']:>2}. {f['factor']:<24} IG {f['information_gain']:.4f}  gain ratio {f['gain_ratio']:.3f}"
              f"  warning coef {f['warning_coefficient']:5.1f}   riskiest {risk['bin']!s:<22}"
              f" churn {risk['churn_rate']:.1%}")
    for e in r.get("highest_risk_examples", []):
        factors = ", ".join(f"{t['factor']}={t['value']}" for t in e["top_factors"])
        print(f"  example {e['id']}: warning {e['warning_coefficient']:.1f} ({e['risk_level']}), churned={e['churned']}"
              f"  because {factors}")


async def _with_sm(fn: Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]) -> None:

    settings = Settings(statement_timeout_ms=600_000)
    engine = create_engine(settings, process="churn-cli")
    try:
        await fn(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def _db_command(args: argparse.Namespace) -> int:

    async def run(sm: async_sessionmaker[AsyncSession]) -> None:
        if args.command == "train":
            version = await registry.train(sm, horizon=args.horizon, candidate=args.candidate, activate=args.activate)
            async with sm() as s:
                print(json.dumps(await registry.get(s, version), indent=2, default=str))
        elif args.command == "list":
            async with sm() as s:
                print(json.dumps(await registry.list_models(s), indent=2, default=str))
        elif args.command == "activate":
            async with own_transaction(sm) as s:
                await registry.activate(s, args.version)
            print(f"model {args.version} active")
        elif args.command == "score":
            print(f"scored {await scoring.score_all(sm)} customers")

    asyncio.run(_with_sm(run))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "evaluate":
        return _evaluate(args)
    return _db_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
