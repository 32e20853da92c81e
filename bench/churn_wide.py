"""Benchmark the churn evaluator on a generated wide table shaped like the large public handset churn set.

    python bench/churn_wide.py [--rows 51047] [--seed 19] [--threads N] [--csv PATH]

Writes a 51,047 x 58 operator export (tests/fixtures/planted_churn_city.py write_wide_csv: 40 numeric and 16
categorical columns, one with ~750 levels and one with 50, churn ~29 %, a weak signal), then runs
`python -m shared.churn evaluate` on it in a child process, exactly as an operator would, and
measures the child's wall time, CPU time and peak RSS (getrusage of the children). The machine's
load average before and after is recorded: on a shared 2-core box it moves wall time a lot, CPU
time much less. Prints the figures and writes bench/results/churn_wide.json (the evaluator's own
report goes to bench/results/churn_wide_report.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the generator is a test fixture, not part of any shipped package

from tests.fixtures.planted_churn_city import write_wide_csv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=51_047)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--threads", type=int, default=None, help="passed to evaluate --threads")
    ap.add_argument("--csv", default=None, help="keep the generated file here (default: a temp file)")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.csv) if args.csv else Path(tmp) / "wide.csv"
        t = time.perf_counter()
        write_wide_csv(path, n=args.rows, seed=args.seed)
        generated_s = time.perf_counter() - t
        report_path = RESULTS / "churn_wide_report.json"
        cmd = [
            sys.executable,
            "-m",
            "shared.churn",
            "evaluate",
            str(path),
            "--label",
            "Churn",
            "--id",
            "CustomerID",
            "--out",
            str(report_path),
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        if proc.returncode:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return proc.returncode
    report = json.loads(report_path.read_text())
    result = {
        "benchmark": "churn_wide",
        "rows": report["rows"],
        "columns": 58,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "generate_s": round(generated_s, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "load_avg_before": load_before,
        "load_avg_after": load_after,
        "chosen": report["chosen"],
        "roc_auc": report["metrics"]["roc_auc_mean"],
        "top_decile_lift": report["metrics"]["top_decile_lift"],
        "selection_honest_auc": report["selection_honest"]["roc_auc_mean"],
        "reference_auc": report["reference"]["roc_auc_mean"],
        "candidates": {c["config"]: c["roc_auc_mean"] for c in report["candidates"]},
    }
    print(
        f"{result['rows']:,} x 58: evaluate in {result['wall_s']} s wall, {result['cpu_s']} s CPU, peak RSS "
        f"{result['peak_rss_mb']} MB (load average {load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"chosen {result['chosen']}: ROC AUC {result['roc_auc']:.4f} (selection-honest "
        f"{result['selection_honest_auc']:.4f}), top-decile lift {result['top_decile_lift']:.2f}; reference "
        f"{result['reference_auc']:.4f}; candidates {result['candidates']}"
    )
    out = RESULTS / "churn_wide.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
