"""Purging finished jobs: the queue table would otherwise grow by every job ever run.

A job is finished when procrastinate is done with it (succeeded, failed, cancelled, aborted);
it is old when its last event is more than `keep_days` days ago. Two set-based statements in one
transaction: the periodic-defer rows that point at old jobs (their foreign key has no cascade),
then the jobs themselves (their events go by cascade) and our progress rows.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount

_OLD = """
    SELECT j.id FROM procrastinate_jobs j
    WHERE j.status::text IN ('succeeded', 'failed', 'cancelled', 'aborted')
      AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)
          < now() - make_interval(days => :keep_days)
"""


async def purge_finished(session: AsyncSession, *, keep_days: int) -> dict[str, int]:
    """Delete finished jobs older than `keep_days` days in the caller's transaction; return counts."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    await session.execute(text(f"CREATE TEMP TABLE _purge ON COMMIT DROP AS {_OLD}"), {"keep_days": keep_days})
    await session.execute(text("DELETE FROM procrastinate_periodic_defers WHERE job_id IN (SELECT id FROM _purge)"))
    progress = await session.execute(text("DELETE FROM job_progress WHERE job_id IN (SELECT id FROM _purge)"))
    jobs = await session.execute(text("DELETE FROM procrastinate_jobs WHERE id IN (SELECT id FROM _purge)"))
    await session.execute(text("DROP TABLE _purge"))
    return {"jobs": rowcount(jobs), "progress": rowcount(progress), "keep_days": keep_days}
