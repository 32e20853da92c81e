"""How the nightly engine's cost grows: bench/nightly.py at several sizes, one table.

    python bench/nightly_scaling.py [--sizes 250000,1000000,4000000] [--night real] [--months 6] [--keep 1000000]

Each size runs in its own process (its own scratch database, dropped afterwards; its own peak
RSS), one after the other. Prints per size the load, the cold run and the second run (a real
night with `--night real`, else a rerun) per stage in seconds and rows/s, the peak engine RSS,
and the growth factor of each stage against the smallest size divided by the size ratio (≈ 1.0
is linear, > 1 grows faster than linearly). Writes bench/results/nightly_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "nightly_scaling.json"


def _run_size(n: int, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / f"nightly_{n}.json"
        cmd = [sys.executable, str(HERE / "nightly.py"), "--customers", str(n), "--months", str(args.months)]
        cmd += ["--night", args.night, "--out", str(out)]
        if args.no_churn:
            cmd.append("--no-churn")
        if n == args.keep:
            cmd.append("--keep")
        print(f"\n=== {n:,} customers: {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())


def _table(results: list[dict]) -> str:
    base = results[0]
    stages = list(base["cold"]["stages"])
    lines = []
    head = f"{'':<22}" + "".join(f"{r['customers']:>14,}" for r in results)
    if len(results) > 1:
        head += f"{'growth/linear':>16}"
    lines.append(head)

    def row(label: str, get) -> None:  # type: ignore[no-untyped-def]
        vals = [get(r) for r in results]
        line = f"{label:<22}" + "".join(f"{v:>14}" if v is not None else f"{'—':>14}" for v in vals)
        if len(results) > 1 and vals[0] and vals[-1]:
            ratio = (vals[-1] / vals[0]) / (results[-1]["customers"] / base["customers"])
            line += f"{ratio:>16.2f}"
        lines.append(line)

    row("load s", lambda r: r.get("load", {}).get("wall_s"))
    row("vacuum s", lambda r: r.get("vacuum_between_runs_s"))
    for run in ("cold", "steady"):
        label = "cold" if run == "cold" else ("real night" if base.get("night") == "real" else "rerun")
        row(f"{label} total s", lambda r, run=run: r[run]["total_s"])
        for s in stages:
            row(f"  {s} s", lambda r, run=run, s=s: r[run]["stages"].get(s, {}).get("seconds"))
    row("peak RSS MB", lambda r: r.get("peak_rss_mb"))
    lines.append(
        "rows/s (cold): "
        + "; ".join(
            f"{s} " + " / ".join(f"{r['cold']['stages'].get(s, {}).get('rows_per_s') or 0:,}" for r in results)
            for s in stages
        )
    )
    lines.append(
        "load average before/after: "
        + "; ".join(
            f"{r['customers']:,}: {r['machine']['load_avg_before'][0]:.1f}/{r['machine'].get('load_avg_after', [0])[0]:.1f}"
            for r in results
        )
    )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="250000,1000000,4000000")
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--night", choices=["rerun", "real"], default="real")
    ap.add_argument("--no-churn", action="store_true")
    ap.add_argument("--keep", type=int, metavar="SIZE", help="keep this size's scratch database (for the web benches)")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(",") if x)
    results = [_run_size(n, args) for n in sizes]
    table = _table(results)
    print("\n" + table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"sizes": sizes, "cpus": os.cpu_count(), "runs": results, "table": table}, indent=2, default=str)
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
