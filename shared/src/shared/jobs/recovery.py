"""Jobs whose worker died go back in the queue.

A job is stalled when it is `doing` but its worker's heartbeat is older than
`jobs_stalled_after_s` (or its worker row is gone). Before retrying one, the sweep checks the
job's advisory lock (`Lock.JOB`, held by the running attempt on its own connection): Postgres
drops it the moment the dead process's connection closes, so a worker that is alive but late
with its heartbeat (a long CPU-bound step) keeps its job. A job that stalled on its last allowed
attempt fails instead of looping (it may be what kills the worker).
"""

from __future__ import annotations

import asyncio
import contextlib

import procrastinate
from procrastinate.jobs import Status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.locking import Lock, lock_held
from shared.db.transactions import own_transaction
from shared.jobs import metrics
from shared.jobs.runtime import MAX_ATTEMPTS
from shared.logging import get_logger

log = get_logger(__name__)

_NOTE = text(
    """
    INSERT INTO job_progress (job_id, task, last_error, attempts, updated_at)
    VALUES (:id, :task, :e, :attempts, now())
    ON CONFLICT (job_id) DO UPDATE SET last_error = EXCLUDED.last_error, finished_at = now(), updated_at = now()
    """
)


async def recover_stalled(
    app: procrastinate.App, sm: async_sessionmaker[AsyncSession], *, stalled_after_s: float
) -> list[int]:
    """Retry (or fail, past the attempt limit) every stalled job whose lock nobody holds; return their ids."""
    recovered: list[int] = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
        assert job.id is not None
        async with sm() as s:
            if await lock_held(s, Lock.JOB, job.id):
                continue  # its worker is alive, only late with its heartbeat
        last = job.attempts + 1 >= MAX_ATTEMPTS
        try:
            if last:
                await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            else:
                await app.job_manager.retry_job(job)
        except Exception as exc:  # noqa: BLE001  another sweep got there first, or it just finished
            log.info("jobs.recover_skipped", job_id=job.id, reason=str(exc)[:200])
            continue
        note = (
            "its worker stopped answering on the last allowed attempt: failed"
            if last
            else "its worker stopped answering: queued again"
        )
        async with own_transaction(sm) as s:
            await s.execute(_NOTE, {"id": job.id, "task": job.task_name, "e": note, "attempts": job.attempts + 1})
        metrics.RECOVERED.labels(task=job.task_name).inc()
        log.warning("jobs.recovered", job_id=job.id, task=job.task_name, attempt=job.attempts + 1, failed=last)
        recovered.append(job.id)
    return recovered


async def recovery_loop(
    app: procrastinate.App, sm: async_sessionmaker[AsyncSession], *, stalled_after_s: float, every_s: float
) -> None:
    """Sweep now and then every `every_s` seconds, for as long as the worker runs."""
    while True:
        with contextlib.suppress(Exception):  # a failed sweep (database restart) is retried next time
            await recover_stalled(app, sm, stalled_after_s=stalled_after_s)
        await asyncio.sleep(every_s)
