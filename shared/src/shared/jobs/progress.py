"""What the console shows of the queue: each job's status, attempts, progress and last error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound

_SELECT = """
    SELECT j.id, j.task_name AS task, j.status::text AS status, j.attempts, j.args, j.lock, j.scheduled_at,
           coalesce(p.progress, CASE WHEN j.status = 'succeeded' THEN 1 ELSE 0 END) AS progress,
           coalesce(p.detail, '{}'::jsonb) AS detail, p.last_error, p.started_at, p.finished_at,
           ev.queued_at, ev.updated_at
    FROM procrastinate_jobs j
    LEFT JOIN job_progress p ON p.job_id = j.id
    LEFT JOIN LATERAL (SELECT min(at) AS queued_at, max(at) AS updated_at FROM procrastinate_events e
                       WHERE e.job_id = j.id) ev ON true
"""


def _out(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["can_retry"] = d["status"] == "failed"
    return d


async def list_jobs(
    session: AsyncSession, *, task: str | None, status: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `after` pages to older jobs."""
    rows = (
        await session.execute(
            text(
                _SELECT
                + """
        WHERE (CAST(:task AS text) IS NULL OR j.task_name = :task)
          AND (CAST(:status AS text) IS NULL OR j.status::text = :status)
          AND (CAST(:after AS bigint) IS NULL OR j.id < :after)
        ORDER BY j.id DESC LIMIT :limit
        """
            ),
            {"task": task, "status": status, "after": after, "limit": limit},
        )
    ).all()
    return [_out(r) for r in rows]


async def get_job(session: AsyncSession, job_id: int) -> dict[str, Any]:
    row = (await session.execute(text(_SELECT + " WHERE j.id = :id"), {"id": job_id})).first()
    if row is None:
        raise NotFound("job not found", id=job_id)
    return _out(row)
