"""jobs.purge: finished jobs older than the window go (events, progress, periodic-defer rows with
them); recent ones, waiting ones and the schedule's own run stay."""

from __future__ import annotations

from sqlalchemy import text

from shared.db.transactions import own_transaction
from shared.jobs import queue
from tests.fixtures.jobs import drain


async def _exists(sm, job_id: int) -> bool:
    async with sm() as s:
        return bool(
            await s.scalar(text("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE id = :i)"), {"i": job_id})
        )


async def test_purge_deletes_only_old_finished_jobs(sm, settings) -> None:
    async with own_transaction(sm) as s:
        old = await queue.defer(s, queue.Task.REBATES, {"month": "2026-01"})
        recent = await queue.defer(s, queue.Task.REBATES, {"month": "2026-02"})
        failed_old = await queue.defer(s, queue.Task.POINTS_ACCRUE, {"month": "2026-13"})
    await drain(settings)
    async with own_transaction(sm) as s:
        waiting_old = await queue.defer(s, queue.Task.REBATES, {"month": "2026-03"})
        # age every event of three jobs by 40 days; a periodic-defer row points at one (no cascade)
        await s.execute(
            text("UPDATE procrastinate_events SET at = at - interval '40 days' WHERE job_id = ANY(:ids)"),
            {"ids": [old, failed_old, waiting_old]},
        )
        await s.execute(
            text(
                "INSERT INTO procrastinate_periodic_defers (task_name, defer_timestamp, job_id, periodic_id) "
                "VALUES ('rebates.post', 1, :j, 'test')"
            ),
            {"j": old},
        )
        status = dict(
            (
                await s.execute(
                    text("SELECT id, status::text FROM procrastinate_jobs WHERE id = ANY(:ids)"),
                    {"ids": [old, recent, failed_old]},
                )
            ).all()
        )
    assert status == {old: "succeeded", recent: "succeeded", failed_old: "failed"}

    async with own_transaction(sm) as s:
        purge = await queue.defer(s, queue.Task.PURGE, {"keep_days": 30})
    await drain(settings)

    assert not await _exists(sm, old) and not await _exists(sm, failed_old)
    assert await _exists(sm, recent) and await _exists(sm, waiting_old) and await _exists(sm, purge)
    async with sm() as s:
        left = await s.scalar(
            text(
                "SELECT (SELECT count(*) FROM procrastinate_events WHERE job_id = ANY(:ids)) "
                "+ (SELECT count(*) FROM job_progress WHERE job_id = ANY(:ids)) "
                "+ (SELECT count(*) FROM procrastinate_periodic_defers WHERE job_id = ANY(:ids))"
            ),
            {"ids": [old, failed_old]},
        )
        result = await s.scalar(text("SELECT detail FROM job_progress WHERE job_id = :j"), {"j": purge})
        schedule = await s.scalar(text("SELECT task FROM job_schedules WHERE name = 'jobs.purge'"))
    assert left == 0 and schedule == "jobs.purge"
    assert result is not None
