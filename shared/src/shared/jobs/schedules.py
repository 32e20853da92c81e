"""Periodic jobs: cron expressions in the operator's time zone, kept in `job_schedules`.

The worker runs the scheduler tick (task jobs.tick) every minute. A schedule is due when its
latest cron time (Asia/Shanghai) is later than when it last fired (or, never fired, than when it
was last edited): a worker that was down fires each missed schedule once, not once per missed
slot. Firing queues the schedule's task with a queueing lock per schedule, so a job still waiting
from the last time is not queued twice; the tick runs under an advisory lock, so two workers
never fire the same slot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.locking import Lock, advisory_lock
from shared.db.transactions import own_transaction
from shared.errors import NotFound, Unprocessable
from shared.jobs import queue
from shared.logging import get_logger
from shared.models import JobSchedule

log = get_logger(__name__)


def check_cron(expr: str) -> str:
    """A five-field cron expression (minute hour day month weekday), or 422."""
    clean = " ".join(expr.split())
    if len(clean.split(" ")) != 5 or not croniter.is_valid(clean):
        raise Unprocessable("cron must have five fields: minute hour day-of-month month day-of-week", cron=expr[:100])
    return clean


def latest_slot(cron: str, now: datetime) -> datetime:
    """The latest cron time at or before `now`, in local time."""
    local = now.astimezone(clock.TZ)
    base = local.replace(second=0, microsecond=0)
    it = croniter(cron, base)
    if croniter.match(cron, base):
        return base
    return it.get_prev(datetime)


def next_slot(cron: str, now: datetime) -> datetime:
    return croniter(cron, now.astimezone(clock.TZ)).get_next(datetime)


def out(row: JobSchedule, now: datetime | None = None) -> dict[str, Any]:
    return {
        "name": row.name,
        "task": row.task,
        "cron": row.cron,
        "timezone": clock.TZ_NAME,
        "args": row.args,
        "enabled": row.enabled,
        "description": row.description,
        "last_fired_at": row.last_fired_at,
        "last_job_id": row.last_job_id,
        "next_at": next_slot(row.cron, now or clock.now()) if row.enabled else None,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


async def list_all(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(JobSchedule).order_by(JobSchedule.name))).all()
    now = clock.now()
    return [out(r, now) for r in rows]


async def update(
    session: AsyncSession, name: str, *, cron: str | None, enabled: bool | None, staff_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change a schedule's cron and/or enabled flag; returns (the schedule, what changed)."""
    row = await session.get(JobSchedule, name, with_for_update=True)
    if row is None:
        raise NotFound("schedule not found", name=name)
    changed: dict[str, Any] = {}
    if cron is not None and check_cron(cron) != row.cron:
        changed["cron"] = {"from": row.cron, "to": check_cron(cron)}
        row.cron = check_cron(cron)
    if enabled is not None and enabled != row.enabled:
        changed["enabled"] = {"from": row.enabled, "to": enabled}
        row.enabled = enabled
    if changed:
        row.updated_by = staff_id
        row.updated_at = clock.now()  # a new cron counts from now: no slot in the past fires
    await session.flush()
    return out(row), changed


async def fire_due(sm: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> list[str]:
    """Queue every enabled schedule that is due at `now` (default: the clock); return their names."""
    now = now or clock.now()
    fired: list[str] = []
    async with own_transaction(sm) as s:
        await advisory_lock(s, Lock.SCHEDULE)
        rows = (
            await s.scalars(select(JobSchedule).where(JobSchedule.enabled).order_by(JobSchedule.name).with_for_update())
        ).all()
        for row in rows:
            slot = latest_slot(row.cron, now)
            since = row.last_fired_at or row.updated_at
            if slot <= since:
                continue
            try:
                job_id: int | None = await queue.defer(s, row.task, row.args, queueing_lock=f"schedule:{row.name}")
            except queue.AlreadyQueued:
                job_id = None  # last slot's job is still waiting: it covers this slot too
            row.last_fired_at, row.last_job_id = slot, job_id or row.last_job_id
            fired.append(row.name)
    if fired:
        log.info("jobs.schedules_fired", schedules=fired)
    return fired
