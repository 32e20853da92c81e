"""The job queue: procrastinate on the application's own PostgreSQL (its schema: migration 0006b).

Why procrastinate: a maintained Postgres-backed queue (no new server), with per-job locks
(`lock`: two jobs with one lock never run at once), queueing locks (one waiting job per key),
worker heartbeats (the jobs of a silent worker can be found) and retries. Everything else —
schedules in local time, stalled-job recovery, progress — is ours, in this package.

This module has no domain imports, so any domain can queue a job. `defer` writes the job row in
the caller's transaction (a savepoint, through procrastinate's own SQL function): the job exists
exactly when the caller's state row (an import, an engine run) does, and a rollback queues nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound

QUEUE = "default"


class Task(StrEnum):
    """Every task name (procrastinate_jobs.task_name); the worker registers one function each."""

    IMPORT = "imports.run"
    ENGINE = "engine.run"
    LAUNCH_DUE = "campaigns.launch_due"
    DISPATCH = "campaigns.dispatch"
    POINTS_EXPIRE = "points.expire"
    POINTS_ACCRUE = "points.accrue"
    WEBHOOKS = "webhooks.deliver"
    SETTLEMENTS = "statements.settlements"
    INCENTIVES = "statements.incentives"
    REBATES = "rebates.post"
    PLAN_CHANGES = "plan_changes.apply"
    TICK = "jobs.tick"
    PURGE = "jobs.purge"
    TRAIN = "models.train"


# Jobs of these tasks run one at a time whoever queued them (procrastinate's `lock`).
LOCKS: dict[str, str] = {
    Task.ENGINE: "engine.run",
    Task.LAUNCH_DUE: "campaigns.launch",
    Task.POINTS_EXPIRE: "points.expire",
    Task.POINTS_ACCRUE: "points.accrue",
    Task.WEBHOOKS: "webhooks",
    Task.SETTLEMENTS: "statements.settlements",
    Task.INCENTIVES: "statements.incentives",
    Task.REBATES: "rebates",
    Task.PLAN_CHANGES: "plan_changes.apply",
    Task.TICK: "jobs.tick",
    Task.PURGE: "jobs.purge",
    Task.TRAIN: "models.train",
}


class AlreadyQueued(Conflict):
    code = "job_already_queued"


_DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[
        ROW(:queue, :task, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), :scheduled_at)
    ]::procrastinate_job_to_defer_v1[]))
    """
)


async def defer(
    session: AsyncSession,
    task: Task | str,
    args: dict[str, Any] | None = None,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = 0,
    scheduled_at: datetime | None = None,
) -> int:
    """Queue `task(**args)` in the caller's transaction; return the job id.

    `lock` (default: the task's entry in LOCKS): jobs sharing it run one at a time.
    `queueing_lock`: at most one such job waits at once; a second raises AlreadyQueued (409) and
    leaves the caller's transaction usable.
    """
    params = {
        "queue": QUEUE,
        "task": str(task),
        "priority": priority,
        "lock": lock or LOCKS.get(str(task)),
        "queueing_lock": queueing_lock,
        "args": json.dumps(args or {}),
        "scheduled_at": scheduled_at,
    }
    try:
        async with session.begin_nested():
            return int(await session.scalar(_DEFER, params))
    except IntegrityError as exc:
        if "queueing_lock" in str(exc.orig):
            raise AlreadyQueued("this job is already queued", task=str(task), queueing_lock=queueing_lock) from None
        raise


_RETRY = text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)")


async def retry_failed(session: AsyncSession, job_id: int) -> None:
    """Put a failed job back in the queue now (the console's retry action). 409 unless failed."""
    status = await session.scalar(
        text("SELECT status::text FROM procrastinate_jobs WHERE id = :id FOR UPDATE"), {"id": job_id}
    )
    if status is None:
        raise NotFound("job not found", id=job_id)
    if status != "failed":
        raise Conflict("only a failed job can be retried", id=job_id, status=status)
    await session.execute(_RETRY, {"id": job_id})


async def busy(session: AsyncSession, task: Task, *, lock: str | None = None) -> bool:
    """Whether a job of `task` (with `lock`, if given) is waiting or running."""
    return bool(
        await session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE task_name = :t AND status IN ('todo', 'doing') "
                "AND (CAST(:lock AS text) IS NULL OR lock = :lock))"
            ),
            {"t": str(task), "lock": lock},
        )
    )
