"""Command line: evaluate the pipeline on a CSV, or train / list / activate / score on the platform DB.

python -m shared.churn evaluate PATH.csv --label Churn [--id customerID] [--folds 10] [--positive Yes]
    [--test NEXT_MONTH.csv] [--allow COL,...] [--conflicts refuse|drop] [--encoding gb18030] [--nested]
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
from shared.churn.tabular import TableError, load_csv, load_like
from shared.db.embedded import REPO_ROOT
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.transactions import own_transaction
from shared.settings import Settings

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "churn_eval.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m shared.churn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="cross-validate the churn pipeline on a CSV with a label column")
    ev.add_argument("path")
    ev.add_argument("--label", required=True, help="label column (churned or not)")
    ev.add_argument("--id", dest="id_column", help="customer id column: reported and deduplicated, never a feature")
    ev.add_argument("--positive", help="label value meaning churned (needed unless yes/no, true/false, 1/0 ...)")
    ev.add_argument("--test", help="a second file (e.g. next month's export): fit on PATH, report on this one")
    ev.add_argument("--folds", type=int, default=10)
    ev.add_argument(
        "--capacity",
        type=float,
        default=0.05,
        help="contact capacity: share of the base if <= 1, else a head count (default 0.05)",
    )
    ev.add_argument("--exclude", default="", help="comma-separated columns to leave out (e.g. post-churn fields)")
    ev.add_argument("--allow", default="", help="comma-separated columns to keep although they look like a leak")
    ev.add_argument(
        "--conflicts",
        choices=("refuse", "drop"),
        default="refuse",
        help="ids whose copies disagree on the label: refuse the file (default) or leave them out",
    )
    ev.add_argument(
        "--candidates", default="", help="comma-separated subset of candidate models (the reference is always added)"
    )
    ev.add_argument(
        "--nested",
        action="store_true",
        help="also run a full nested CV (slow; the selection-honest figure is always reported)",
    )
    ev.add_argument("--no-nested", action="store_true", help=argparse.SUPPRESS)  # the old default's switch
    ev.add_argument("--threads", type=int, default=None, help="folds fitted at once (default: cores, at most 2)")
    ev.add_argument("--delimiter")
    ev.add_argument("--encoding", help="file encoding (default: detected: UTF-8, UTF-16, GB18030, Windows-1252)")
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

    names = [c for c in args.candidates.split(",") if c]
    unknown = [n for n in names if n not in CANDIDATE_BY_NAME]
    if unknown:
        print(f"error: unknown candidates {unknown}; known: {list(CANDIDATE_BY_NAME)}", file=sys.stderr)
        return 2
    candidates = [CANDIDATE_BY_NAME[n] for n in names] if names else list(CANDIDATES)
    try:
        table = load_csv(
            args.path,
            label=args.label,
            id_column=args.id_column,
            positive=args.positive,
            exclude=_names(args.exclude),
            allow=_names(args.allow),
            conflicts=args.conflicts,
            delimiter=args.delimiter,
            encoding=args.encoding,
        )
        test = None
        if args.test:
            test = load_like(
                args.test,
                table,
                label=args.label,
                id_column=args.id_column,
                conflicts=args.conflicts,
                delimiter=args.delimiter,
                encoding=args.encoding,
            )
        report = evaluate_table(
            table,
            folds=args.folds,
            capacity=args.capacity,
            candidates=candidates,
            nested=args.nested and not args.no_nested,
            test=test,
            threads=args.threads,
        )
    except (TableError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = {
        "dataset": str(Path(args.path).name),
        "label": args.label,
        "id_column": args.id_column,
        **({"test_dataset": str(Path(args.test).name)} if args.test else {}),
        **report,
    }
    _print_report(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nwrote {out}")
    return 0


def _names(csv_list: str) -> list[str]:
    return [c.strip() for c in csv_list.split(",") if c.strip()]


def _print_report(r: dict) -> None:
    f = r.get("file", {})
    print(
        f"{r['dataset']}: {r['rows']} rows, churn rate {r['base_rate']:.1%} (positive = {r['positive_label']!r});"
        f" read as {f.get('encoding')}, delimiter {f.get('delimiter')!r}, decimal {f.get('decimal')}"
    )
    for w in r.get("warnings", []):
        print(f"  warning: {w}")
    print(
        f"features: {len(r['features']['numeric'])} numeric, {len(r['features']['categorical'])} categorical;"
        f" not used: {r['not_features']}"
    )
    print(f"\n{r['folds']}-fold cross-validation (preprocessing inside each fold, no resampling):")
    for c in r["candidates"]:
        print(
            f"  {c['config']:<15} ROC AUC {c['roc_auc_mean']:.4f} ± {c['roc_auc_std']:.4f}   "
            f"top-decile lift {c['top_decile_lift']:.2f}   precision@{r['capacity']} {c['precision_at_capacity']:.3f}"
            f"   ({c['seconds']}s)"
        )
    m, ref = r["metrics"], r["reference"]
    print(
        f"\nchosen: {r['chosen']}  ROC AUC {m['roc_auc_mean']:.4f} ± {m['roc_auc_std']:.4f}, top-decile lift "
        f"{m['top_decile_lift']:.2f}, precision at capacity {r['capacity']}: {m['precision_at_capacity']:.3f}"
    )
    print(
        f"reference (sklearn HGB defaults): ROC AUC {ref['roc_auc_mean']:.4f}, top-decile lift "
        f"{ref['top_decile_lift']:.2f}; chosen - reference = {ref['chosen_minus_reference']:+.4f}"
    )
    h = r["selection_honest"]
    print(
        f"selection-honest (each fold scored by the candidate winning the other folds): ROC AUC "
        f"{h['roc_auc_mean']:.4f} ± {h['roc_auc_std']:.4f}, top-decile lift {h['top_decile_lift']:.2f}"
    )
    if "nested" in r:
        n = r["nested"]
        print(
            f"nested CV (choice made inside each outer fold): ROC AUC {n['roc_auc_mean']:.4f} ± "
            f"{n['roc_auc_std']:.4f}, top-decile lift {n['top_decile_lift']:.2f}"
        )
    if "test" in r:
        t = r["test"]
        c = t["calibration"]
        print(
            f"\ntest file {r.get('test_dataset')}: {t['rows']} rows, churn rate {t['base_rate']:.1%}: ROC AUC "
            f"{t['roc_auc']:.4f}, top-decile lift {t['top_decile_lift']:.2f} (reference {t['reference']['roc_auc']:.4f},"
            f" lift {t['reference']['top_decile_lift']:.2f})"
        )
        print(
            f"  calibration: mean predicted {c['mean_predicted']:.3f} vs observed {c['observed']:.3f}, "
            f"ECE {c['ece']:.3f}, Brier {c['brier']:.3f}"
        )
        print(
            "  churn rate by risk level: "
            + ", ".join(f"{k} {v['churn_rate']:.1%} of {v['rows']}" for k, v in t["risk_levels"].items() if v["rows"])
        )
        for w in t.get("warnings", []):
            print(f"  warning: {w}")
    print("\nkey churn factors by information gain (bits):")
    for f in r["factor_ranking"][:12]:
        risk = f["riskiest"]
        print(
            f"  {f['rank']:>2}. {f['factor']:<24} IG {f['information_gain']:.4f}  gain ratio {f['gain_ratio']:.3f}"
            f"  warning coef {f['warning_coefficient']:5.1f}   riskiest {risk['bin']!s:<22}"
            f" churn {risk['churn_rate']:.1%}"
        )
    for e in r.get("highest_risk_examples", []):
        factors = ", ".join(f"{t['factor']}={t['value']}" for t in e["top_factors"])
        print(
            f"  example {e['id']}: warning {e['warning_coefficient']:.1f} ({e['risk_level']}), churned={e['churned']}"
            f"  because {factors}"
        )
    print(f"\n{r['seconds']} s")


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
        from shared.churn.pipeline import limit_heap_growth

        limit_heap_growth()  # before any thread starts: arenas are per thread
        return _evaluate(args)
    return _db_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
