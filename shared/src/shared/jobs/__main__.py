"""`python -m shared.jobs worker [--concurrency N] [--once]` runs the worker;
`python -m shared.jobs schedules` lists the schedules; `python -m shared.jobs defer TASK '{json}'` queues a job."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from shared.db.engine import create_engine, create_sessionmaker
from shared.db.transactions import own_transaction
from shared.jobs import queue, schedules
from shared.jobs.worker import run_worker
from shared.logging import configure_logging
from shared.settings import get_settings


async def _defer(task: str, args: dict[str, Any]) -> int:
    engine = create_engine(get_settings(), process="jobs.cli")
    try:
        async with own_transaction(create_sessionmaker(engine)) as s:
            return await queue.defer(s, task, args)
    finally:
        await engine.dispose()


async def _schedules() -> list[dict[str, Any]]:
    engine = create_engine(get_settings(), process="jobs.cli")
    try:
        async with create_sessionmaker(engine)() as s:
            return await schedules.list_all(s)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="run queued jobs, the scheduler and the stalled-job sweep")
    w.add_argument("--concurrency", type=int, default=None, help="jobs at once (default TENURE_JOBS_CONCURRENCY)")
    w.add_argument("--once", action="store_true", help="stop when the queue is empty")
    d = sub.add_parser("defer", help="queue one job")
    d.add_argument("task", choices=[t.value for t in queue.Task])
    d.add_argument("args", nargs="?", default="{}", help="JSON object of the task's arguments")
    sub.add_parser("schedules", help="list the periodic jobs")
    args = parser.parse_args(argv)
    if args.command == "worker":
        configure_logging("worker")
        asyncio.run(run_worker(get_settings(), concurrency=args.concurrency, wait=not args.once))
    elif args.command == "defer":
        print(asyncio.run(_defer(args.task, json.loads(args.args))))
    else:
        for row in asyncio.run(_schedules()):
            print(f"{row['name']:<24} {row['cron']:<14} {'on ' if row['enabled'] else 'off'} next {row['next_at']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
