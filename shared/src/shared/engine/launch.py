"""Start a nightly run from an API process: refuse while one is busy, queue its row, spawn its process.

The run itself executes in its own process (`python -m shared.engine run --run-id N`), never
inside the API; the runner's advisory lock is what guarantees one run at a time. The check here
only spares a doomed process: a run is busy while a session holds that lock, or while a row
queued in the last two minutes has not taken it yet (its process may still be starting).
"""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.locking import Lock, lock_held
from shared.db.transactions import own_transaction
from shared.engine.runner import RunInProgress, create_run, run_status

_JUST_QUEUED = text(
    "SELECT EXISTS (SELECT 1 FROM engine_runs WHERE status = 'queued' AND created_at > now() - interval '2 minutes')"
)
_children: set[asyncio.Task[int]] = set()  # reapers of spawned runs: each child is waited for, never a zombie


async def start_run(
    sm: async_sessionmaker[AsyncSession],
    *,
    run_date: date | None,
    stages: list[str] | None,
    database_url: str | None,
    on_queued: Callable[[AsyncSession, int, date], Awaitable[None]],
) -> dict[str, Any]:
    """Queue a run for `run_date` (default: today in the operator's time zone) and start its process; its status.

    `on_queued(session, run_id, run_date)` runs in the queuing transaction (the caller's audit row).
    Raises RunInProgress while a run is busy.
    """
    day = run_date or clock.today()
    # the queued row must be committed before the process that picks it up starts
    async with own_transaction(sm) as s:
        if await lock_held(s, Lock.ENGINE_RUN) or await s.scalar(_JUST_QUEUED):
            raise RunInProgress("an engine run is already in progress")
        run_id = await create_run(s, day, "queued")
        await on_queued(s, run_id, day)
    await _spawn(run_id, day, stages, database_url)
    async with sm() as s:
        out = await run_status(s, run_id)
    assert out is not None
    return out


async def _spawn(run_id: int, run_date: date, stages: list[str] | None, database_url: str | None) -> None:
    args = [sys.executable, "-m", "shared.engine", "run", "--run-id", str(run_id), "--date", run_date.isoformat()]
    if stages:
        args += ["--only", ",".join(stages)]
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )
    task = asyncio.create_task(proc.wait())
    _children.add(task)
    task.add_done_callback(_children.discard)
