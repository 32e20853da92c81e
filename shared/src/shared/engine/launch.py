"""Start a nightly run from an API process: refuse while one is busy, queue its row and its job.

The run executes on the job worker (`shared.jobs`, task engine.run), never inside the API: the
run row and its queue job are written in one transaction, so a run is queued exactly when its
job is. The runner's advisory lock is what guarantees one run at a time; the check here only
spares a doomed job: a run is busy while a session holds that lock or an engine job waits or runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.locking import Lock, lock_held
from shared.db.transactions import own_transaction
from shared.engine.runner import RunInProgress, create_run, run_status
from shared.jobs import queue


async def start_run(
    sm: async_sessionmaker[AsyncSession],
    *,
    run_date: date | None,
    stages: list[str] | None,
    on_queued: Callable[[AsyncSession, int, date], Awaitable[None]],
) -> dict[str, Any]:
    """Queue a run for `run_date` (default: today in the operator's time zone); its status.

    `on_queued(session, run_id, run_date)` runs in the queuing transaction (the caller's audit row).
    Raises RunInProgress while a run is busy.
    """
    day = run_date or clock.today()
    async with own_transaction(sm) as s:
        if await lock_held(s, Lock.ENGINE_RUN) or await queue.busy(s, queue.Task.ENGINE):
            raise RunInProgress("an engine run is already in progress")
        run_id = await create_run(s, day, "queued")
        job_id = await queue.defer(
            s, queue.Task.ENGINE, {"run_id": run_id, "run_date": day.isoformat(), "stages": stages}
        )
        await s.execute(text("UPDATE engine_runs SET job_id = :j WHERE id = :r"), {"j": job_id, "r": run_id})
        await on_queued(s, run_id, day)
    async with sm() as s:
        out = await run_status(s, run_id)
    assert out is not None
    return out
