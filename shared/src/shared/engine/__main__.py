"""Command line: `python -m shared.engine run [--date YYYY-MM-DD] [--run-id N] [--only stage,...]`.

Runs in its own process with its own application_name (`<env>.engine`) and generous statement
timeouts; exits 0 when the run finished, 3 when another run holds the lock, 1 on a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from shared import clock
from shared.db.engine import create_engine
from shared.engine.runner import RunInProgress, run_nightly
from shared.logging import configure_logging
from shared.settings import Settings, direct_database, get_settings


def engine_settings() -> Settings:
    settings = get_settings()
    return settings.model_copy(
        update={
            **direct_database(settings),
            "statement_timeout_ms": 900_000,
            "idle_in_tx_timeout_ms": 300_000,
            "lock_timeout_ms": 60_000,
            # two chunks in flight, their progress rows, and a first model's training beside them
            # (its lock, its session and two history frames)
            "pool_size": 6,
            "max_overflow": 2,
            "pool_timeout_s": 60.0,
        }
    )


async def _run(args: argparse.Namespace) -> int:

    engine = create_engine(engine_settings(), process="engine")
    try:
        run_id = await run_nightly(
            engine,
            run_date=args.date,
            run_id=args.run_id,
            chunk=args.chunk,
            parallel=args.parallel,
            only=args.only.split(",") if args.only else None,
            incremental=engine_settings().engine_incremental and not args.full,
        )
        print(f"engine run {run_id} done")
        return 0
    except RunInProgress as exc:
        print(str(exc), file=sys.stderr)
        return 3
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.engine")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the nightly engine once")
    run.add_argument("--date", type=date.fromisoformat, default=None, help=f"run day (default: today, {clock.TZ_NAME})")
    run.add_argument("--run-id", type=int, default=None, help="an engine_runs row created by the admin API")
    run.add_argument("--chunk", type=int, default=50_000, help="customers per chunk")
    run.add_argument("--parallel", type=int, default=2, help="chunks in flight at once")
    run.add_argument("--only", default=None, help="comma-separated stage names")
    run.add_argument("--full", action="store_true", help="recompute every customer (ignore the watermarks)")
    args = parser.parse_args(argv)
    configure_logging("engine")
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
