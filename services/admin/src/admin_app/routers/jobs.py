"""Background jobs: the queue as the console shows it, the retry action, and the periodic schedules.

Every long job (imports, engine runs, campaign launch and dispatch, points accrual and expiry,
webhook delivery, statements) runs on the job worker (`python -m shared.jobs worker`); these
routes only read the queue, put a failed job back, and edit when schedules fire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, Strict, page, record
from shared import clock
from shared.jobs import progress, queue, schedules
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Id

router = APIRouter(prefix="/v1", tags=["jobs"])

Status = Literal["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]


class JobOut(BaseModel):
    id: int
    task: str
    status: str
    """todo (waiting) → doing (running) → succeeded | failed; a failed one can be retried"""
    attempts: int
    """attempts finished so far (a retried or recovered job has more than one)"""
    progress: float
    """0..1, reported by the running job"""
    detail: dict[str, Any]
    """what the job reported (e.g. import_id, run_id, stage; its result once done)"""
    last_error: str | None
    args: dict[str, Any]
    lock: str | None
    scheduled_at: datetime | None
    """not before this time (a retry backs off)"""
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    can_retry: bool


class ScheduleOut(BaseModel):
    name: str
    task: str
    cron: str
    """minute hour day-of-month month day-of-week, in `timezone`"""
    timezone: str
    args: dict[str, Any]
    enabled: bool
    description: str | None
    last_fired_at: datetime | None
    last_job_id: int | None
    next_at: datetime | None
    updated_at: datetime
    updated_by: int | None


class ScheduleIn(Strict):
    cron: str | None = Field(None, max_length=100, description=f"five-field cron in {clock.TZ_NAME} time")
    enabled: bool | None = None


@router.get("/jobs", response_model=Page[JobOut], summary="Background jobs, newest first")
async def list_jobs(
    principal: can("jobs.read"),
    session: ReadSession,
    task: Literal[tuple(t.value for t in queue.Task)] | None = None,  # type: ignore[valid-type]
    status: Status | None = None,
    after: int | None = Query(None, ge=1, le=2**63 - 1, description="id of the last job seen (older ones follow)"),
    limit: int = Limit,
) -> Page[JobOut]:
    rows = await progress.list_jobs(session, task=task, status=status, after=after, limit=limit)
    return page([JobOut(**r) for r in rows], limit)


@router.get("/jobs/schedules", response_model=list[ScheduleOut], summary="Periodic jobs (cron in local time)")
async def list_schedules(principal: can("jobs.read"), session: ReadSession) -> list[ScheduleOut]:
    return [ScheduleOut(**r) for r in await schedules.list_all(session)]


@router.put(
    "/jobs/schedules/{name}", response_model=ScheduleOut, summary="Change when a periodic job runs, or pause it"
)
async def put_schedule(
    name: str, body: ScheduleIn, principal: can("jobs.write"), request: Request, session: WriteSession
) -> ScheduleOut:
    out, changed = await schedules.update(
        session, name[:60], cron=body.cron, enabled=body.enabled, staff_id=principal.id
    )
    if changed:
        await record(session, request, principal, "jobs.schedule.update", "job_schedule", name[:60], changed)
    return ScheduleOut(**out)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One job: status, progress, last error")
async def get_job(job_id: Id, principal: can("jobs.read"), session: ReadSession) -> JobOut:
    return JobOut(**await progress.get_job(session, job_id))


@router.post("/jobs/{job_id}/retry", response_model=JobOut, summary="Queue a failed job again (it runs from its start)")
async def retry_job(job_id: Id, principal: can("jobs.write"), request: Request, session: WriteSession) -> JobOut:
    await queue.retry_failed(session, job_id)
    await record(session, request, principal, "jobs.retry", "job", job_id)
    return JobOut(**await progress.get_job(session, job_id))
