"""How a job runs on the worker: the procrastinate app, retries, the per-job lock and progress rows.

Every task is registered through `durable`, which gives it:
- a session-level advisory lock on the job id (`Lock.JOB`), held on its own connection for the
  whole run: a second worker never runs the same job, even one retried while its first worker is
  alive but silent (the recovery sweep checks this lock before retrying);
- a `job_progress` row (attempt, progress, detail, last error) committed on its own, which the
  console reads while the job runs;
- retries with exponential backoff (`Backoff`), except for `Permanent` failures;
- metrics (`shared.jobs.metrics`).
Each task must be idempotent: a retried job runs again from its start.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db.locking import Lock, session_lock
from shared.db.transactions import own_transaction
from shared.jobs import metrics
from shared.jobs.queue import LOCKS, QUEUE, Task
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)

MAX_ATTEMPTS = 5


class Permanent(Exception):
    """A failure a retry cannot fix (bad arguments, a missing file): the job fails at once."""


class JobBusy(Exception):
    """Another live worker holds this job's lock: try again later."""


class Backoff(BaseRetryStrategy):
    """Retry after base · 2^attempts seconds (capped), at most `max_attempts` runs in all."""

    def __init__(self, *, max_attempts: int = MAX_ATTEMPTS, base_s: float = 10, cap_s: float = 3600) -> None:
        self.max_attempts, self.base_s, self.cap_s = max_attempts, base_s, cap_s

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, Permanent) or job.attempts + 1 >= self.max_attempts:
            return None
        return RetryDecision(retry_in={"seconds": min(self.cap_s, self.base_s * 2**job.attempts)})


@dataclass
class Runtime:
    """The worker process's database handles, built once when it starts."""

    settings: Settings
    engine: AsyncEngine
    sm: async_sessionmaker[AsyncSession]


_current: list[Runtime] = []


def install(runtime: Runtime) -> None:
    _current[:] = [runtime]


def current() -> Runtime:
    if not _current:
        raise RuntimeError("no job runtime: start the worker with `python -m shared.jobs worker`")
    return _current[0]


app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["shared.jobs.tasks"])

_UPSERT = text(
    """
    INSERT INTO job_progress (job_id, task, progress, detail, last_error, attempts, started_at, finished_at, updated_at)
    VALUES (:id, :task, coalesce(CAST(:progress AS float), 0), CAST(:detail AS jsonb), :error, :attempts,
            CASE WHEN :starting THEN now() END, CASE WHEN :finishing THEN now() END, now())
    ON CONFLICT (job_id) DO UPDATE SET
        progress = coalesce(CAST(:progress AS float), job_progress.progress),
        detail = CASE WHEN :keep_detail THEN job_progress.detail ELSE EXCLUDED.detail END,
        last_error = coalesce(EXCLUDED.last_error, CASE WHEN :starting THEN job_progress.last_error END),
        attempts = EXCLUDED.attempts,
        started_at = coalesce(EXCLUDED.started_at, job_progress.started_at),
        finished_at = CASE WHEN :starting THEN NULL ELSE coalesce(EXCLUDED.finished_at, job_progress.finished_at) END,
        updated_at = now()
    """
)


@dataclass
class JobRun:
    """What a task function gets besides its arguments: who it is and how to report progress."""

    job_id: int
    task: str
    attempt: int
    runtime: Runtime

    @property
    def sm(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sm

    async def progress(self, fraction: float, **detail: Any) -> None:
        """Commit the job's progress (0..1) and detail on its own; the console polls it."""
        await _write(self, progress=max(0.0, min(1.0, fraction)), detail=detail)


async def _write(
    run: JobRun,
    *,
    progress: float | None,
    detail: dict[str, Any] | None = None,
    error: str | None = None,
    starting: bool = False,
    finishing: bool = False,
) -> None:
    async with own_transaction(run.sm) as s:
        await s.execute(
            _UPSERT,
            {
                "id": run.job_id,
                "task": run.task,
                "progress": progress,
                "detail": json.dumps(detail or {}, default=str),
                "error": error,
                "attempts": run.attempt + 1,
                "starting": starting,
                "finishing": finishing,
                "keep_detail": detail is None,
            },
        )


TaskFn = Callable[..., Awaitable[Any]]


def durable(
    task: Task, *, retry: BaseRetryStrategy | None = None, periodic: str | None = None
) -> Callable[[TaskFn], TaskFn]:
    """Register `fn(run: JobRun, **args)` as the queue task `task` (see the module doc)."""

    def register(fn: TaskFn) -> TaskFn:
        async def run_job(context: procrastinate.JobContext, **kwargs: Any) -> Any:
            job = context.job
            assert job.id is not None
            run = JobRun(job_id=job.id, task=str(task), attempt=job.attempts, runtime=current())
            async with session_lock(run.runtime.engine, Lock.JOB, job.id) as got:
                if not got:
                    raise JobBusy(f"job {job.id} is running on another worker")
                await _write(run, progress=0.0, starting=True)
                started = time.perf_counter()
                metrics.RUNNING.labels(task=str(task)).inc()
                try:
                    result = await fn(run, **kwargs)
                except BaseException as exc:
                    error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.error(
                        "jobs.failed",
                        job_id=job.id,
                        task=str(task),
                        attempt=job.attempts + 1,
                        error=traceback.format_exc(limit=5),
                    )
                    metrics.FINISHED.labels(task=str(task), outcome="error").inc()
                    await _write(run, progress=None, detail=None, error=error, finishing=True)
                    raise
                finally:
                    metrics.RUNNING.labels(task=str(task)).dec()
                    metrics.SECONDS.labels(task=str(task)).observe(time.perf_counter() - started)
                metrics.FINISHED.labels(task=str(task), outcome="done").inc()
                await _write(
                    run, progress=1.0, detail=result if isinstance(result, dict) else {"result": result}, finishing=True
                )
                return result

        run_job.__name__ = fn.__name__
        registered = app.task(
            name=str(task), queue=QUEUE, retry=retry or Backoff(), pass_context=True, lock=LOCKS.get(str(task))
        )(run_job)
        if periodic is not None:  # procrastinate defers it itself (once per slot across workers)
            # procrastinate types the `timestamp` it passes as a first positional; it arrives as a keyword in **kwargs
            app.periodic(cron=periodic, periodic_id=str(task))(registered)  # type: ignore[arg-type]  # see above
        return fn

    return register
