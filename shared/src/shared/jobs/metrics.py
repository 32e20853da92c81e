"""Prometheus metrics of the job system.

The worker process counts what it runs (`tenure_jobs_finished_total`, `tenure_job_seconds`,
`tenure_jobs_running`) and serves them on its own /metrics (TENURE_WORKER_METRICS_PORT). The
admin service's /metrics carries the queue as the database sees it (`tenure_jobs`,
`tenure_job_oldest_waiting_seconds`, `tenure_job_schedule_last_fired_timestamp`), refreshed every
few seconds by `refresh` (run by `shared.web.gauges.GaugeRefresher`) so a scrape never waits on a query.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

FINISHED = Counter("tenure_jobs_finished_total", "Job runs finished on this worker", ["task", "outcome"])
SECONDS = Histogram(
    "tenure_job_seconds",
    "Run time of one job attempt",
    ["task"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600),
)
RUNNING = Gauge("tenure_jobs_running", "Jobs running on this worker now", ["task"])
RECOVERED = Counter("tenure_jobs_recovered_total", "Jobs of dead workers put back in the queue", ["task"])

QUEUED = Gauge("tenure_jobs", "Queue jobs by task and status", ["task", "status"])
OLDEST = Gauge("tenure_job_oldest_waiting_seconds", "Age of the oldest job due and waiting", ["task"])
FIRED = Gauge("tenure_job_schedule_last_fired_timestamp", "When a schedule last queued its job", ["schedule"])

_COUNTS = text(
    """
    SELECT j.task_name, j.status::text, count(*),
           max(greatest(0, extract(epoch FROM now() - coalesce(j.scheduled_at, d.at))))
    FROM procrastinate_jobs j
    LEFT JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events e WHERE e.job_id = j.id) d
           ON j.status = 'todo'
    GROUP BY 1, 2
    """
)


async def refresh(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s:
        rows = (await s.execute(_COUNTS)).all()
        fired = (await s.execute(text("SELECT name, last_fired_at FROM job_schedules"))).all()
    QUEUED.clear()
    OLDEST.clear()
    for task, status, n, oldest in rows:
        QUEUED.labels(task=task, status=status).set(n)
        if status == "todo" and oldest is not None:
            OLDEST.labels(task=task).set(float(oldest))
    for name, at in fired:
        FIRED.labels(schedule=name).set(at.timestamp() if at else 0)
