"""The worker process: runs queued jobs, the scheduler tick and the stalled-job sweep.

`python -m shared.jobs worker` (dev.py up starts one; compose has a `worker` service). Run as
many as you like: jobs are claimed one worker each, and a job's lock keeps it on one worker.
SIGTERM/SIGINT stop it gracefully: running jobs get 30 s to finish, then are cancelled and
retried by the next worker (each job is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib

import procrastinate
from prometheus_client import start_http_server

from shared.db.embedded import resolve_database_url, to_libpq_url
from shared.db.engine import create_engine, create_sessionmaker
from shared.jobs import recovery, tasks
from shared.jobs.runtime import Runtime, app, install
from shared.logging import get_logger
from shared.settings import Settings, direct_database

log = get_logger(__name__)
SHUTDOWN_GRACE_S = 30.0

assert tasks  # imported for its task registrations


def worker_settings(settings: Settings) -> Settings:
    """Batch timeouts (an engine stage or an import merge may take minutes) and a bigger pool, on
    DATABASE_DIRECT_URL when set: the worker LISTENs for new jobs and holds session advisory locks
    (one run of a job, of the engine), which PgBouncer in transaction mode cannot carry."""
    return settings.model_copy(
        update={
            **direct_database(settings),
            "statement_timeout_ms": 1_800_000,
            "idle_in_tx_timeout_ms": 600_000,
            "lock_timeout_ms": 120_000,
            "pool_size": max(settings.jobs_concurrency * 3, 8),
            "max_overflow": 4,
            "pool_timeout_s": 120.0,
        }
    )


def connector(settings: Settings, *, size: int) -> procrastinate.PsycopgConnector:
    url = to_libpq_url(resolve_database_url(settings.database_direct_url or settings.database_url))
    return procrastinate.PsycopgConnector(
        conninfo=url,
        min_size=1,
        max_size=size,
        kwargs={"application_name": f"{settings.env}.worker.queue"},
    )


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    wait: bool = True,
    signals: bool = True,
    metrics_port: int | None = None,
) -> None:
    """Run until stopped (or, with wait=False, until the queue is empty)."""
    n = concurrency or settings.jobs_concurrency
    engine = create_engine(worker_settings(settings), process="worker")
    install(Runtime(settings=settings, engine=engine, sm=create_sessionmaker(engine)))
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    if port:
        with contextlib.suppress(OSError):  # a second worker on the same host shares the first's port
            start_http_server(port)
    sweep: asyncio.Task[None] | None = None
    try:
        with app.replace_connector(connector(settings, size=n + 4)):
            async with app.open_async():
                sweep = asyncio.create_task(
                    recovery.recovery_loop(
                        app,
                        create_sessionmaker(engine),
                        stalled_after_s=settings.jobs_stalled_after_s,
                        every_s=settings.jobs_recover_every_s,
                    )
                )
                log.info("worker.started", concurrency=n, stalled_after_s=settings.jobs_stalled_after_s)
                await app.run_worker_async(
                    concurrency=n,
                    wait=wait,
                    install_signal_handlers=signals,
                    listen_notify=True,
                    update_heartbeat_interval=settings.jobs_heartbeat_s,
                    stalled_worker_timeout=settings.jobs_stalled_after_s,
                    shutdown_graceful_timeout=SHUTDOWN_GRACE_S,
                )
    finally:
        if sweep is not None:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
        await engine.dispose()
        log.info("worker.stopped")
