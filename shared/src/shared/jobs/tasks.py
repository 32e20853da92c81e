"""Every long job of the platform as a queue task. Each is idempotent: a retry runs it again.

| task | what makes a second run harmless |
| --- | --- |
| imports.run | one load transaction (a killed one leaves nothing); merges write only differing rows; a `done` import is skipped |
| engine.run | the run's advisory lock; stages are idempotent; a retry resumes after the stages already done |
| campaigns.launch_due / dispatch | launching moves a campaign out of `scheduled` under its row lock; touches are claimed SKIP LOCKED |
| points.expire / accrue | ledger idempotency keys per account and day / customer and month |
| webhooks.deliver | the outbox claim (FOR UPDATE SKIP LOCKED, a lease); receivers de-duplicate on Tenure-Delivery |
| statements.* | one statement per merchant-period / manager-month (unique keys; posted once) |
| rebates.post | ledger key per contract instalment (`rebate:<subscription>:<seq>`); paid rows are not selected again |
| plan_changes.apply | a scheduled change becomes `applied` in the statement that sets the plan; applied rows are not selected again |
| models.train | a killed fit committed nothing (the version is one insert at the end); the training lock keeps fits one at a time |
| jobs.purge | deleting what is already deleted deletes nothing |
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shared import clock
from shared.alliance import settlement, webhooks
from shared.auth.principals import Principal
from shared.backoffice.imports import service as imports
from shared.business import contracts, plan_change
from shared.campaigns import service as campaigns
from shared.churn import registry
from shared.db.transactions import own_transaction
from shared.engine.runner import STAGE_NAMES, RunInProgress, run_for_job, run_nightly
from shared.errors import Conflict
from shared.jobs import purge, schedules
from shared.jobs.queue import Task
from shared.jobs.runtime import MAX_ATTEMPTS, Backoff, JobRun, Permanent, durable
from shared.manager import incentives
from shared.points import jobs as points_jobs
from shared.settings import get_settings


def _month(arg: str | None) -> date:
    """'previous' (default), 'current' or YYYY-MM → the month's first day (local time)."""
    this = clock.month_start(clock.today())
    if arg in (None, "", "previous"):
        return clock.add_months(this, -1)
    if arg == "current":
        return this
    try:
        return date.fromisoformat(f"{arg}-01")
    except ValueError:
        raise Permanent(f"month must be 'previous', 'current' or YYYY-MM (got {arg!r})") from None


@durable(Task.IMPORT)
async def import_file(
    run: JobRun,
    *,
    import_id: int,
    path: str,
    encoding: str = "utf-8",
    staff_id: int | None = None,
    role: str = "admin",
    ip: str | None = None,
    chunk_rows: int = imports.CHUNK_ROWS,
) -> dict[str, Any]:
    """Load an uploaded CSV from the spool directory; the file is removed once the import ends."""
    spooled = Path(path)
    if not spooled.exists():
        async with run.sm() as s:
            status = (await imports.get_job(s, import_id)).status
        if status in ("done", "failed"):
            return {"import_id": import_id, "status": status}
        await imports.fail(run.sm, import_id, "the uploaded file is gone from the spool directory; upload it again")
        raise Permanent(f"spool file missing: {path}")
    principal = Principal(kind="staff", id=staff_id or 0, role=role, audience="admin")
    final = run.attempt + 1 >= MAX_ATTEMPTS

    async def progress(fraction: float) -> None:
        await run.progress(fraction, import_id=import_id)

    status = await imports.run_import(
        run.sm,
        job_id=import_id,
        path=spooled,
        principal=principal,
        encoding=encoding,
        chunk_rows=chunk_rows,
        ip=ip,
        on_progress=progress,
        durable=True,
        final=final,
    )
    spooled.unlink(missing_ok=True)
    async with run.sm() as s:
        job = await imports.get_job(s, import_id)
    return {
        "import_id": import_id,
        "status": status,
        "rows_total": job.rows_total,
        "rows_bad": job.rows_bad,
        "rows_changed": job.rows_changed,
    }


@durable(Task.ENGINE)
async def engine_run(
    run: JobRun, *, run_id: int | None = None, run_date: str | None = None, stages: list[str] | None = None
) -> dict[str, Any]:
    """The nightly run. A scheduled run (no run_id) creates its row; a retry resumes the same row."""
    day = date.fromisoformat(run_date) if run_date else clock.today()
    if run_id is None:  # a scheduled run: its row belongs to this job
        async with own_transaction(run.sm) as s:
            run_id, day = await run_for_job(s, run.job_id, day)
    done = 0

    async def stage_done(name: str) -> None:
        nonlocal done
        done += 1
        await run.progress(done / len(stages or STAGE_NAMES), run_id=run_id, stage=name)

    try:
        rid = await run_nightly(
            run.runtime.engine,
            run_date=day,
            run_id=run_id,
            only=stages,
            resume=run.attempt > 0,
            on_stage_done=stage_done,
            incremental=get_settings().engine_incremental,
        )
    except RunInProgress as exc:
        raise Permanent(str(exc)) from exc
    return {"run_id": rid, "run_date": day.isoformat()}


@durable(Task.LAUNCH_DUE)
async def launch_due(run: JobRun) -> dict[str, Any]:
    launched = await campaigns.launch_due(run.sm)
    return {"launched": launched}


@durable(Task.DISPATCH)
async def dispatch(run: JobRun, *, campaign_id: int) -> dict[str, int]:
    """Send a launched campaign's queued touches (queued by the launch itself)."""
    return await campaigns.dispatch_outbound(run.sm, campaign_id=campaign_id, signature=get_settings().sms_signature)


@durable(Task.POINTS_EXPIRE)
async def points_expire(run: JobRun, *, day: str | None = None) -> dict[str, Any]:
    try:
        return await points_jobs.run_expiry(run.sm, today=date.fromisoformat(day) if day else clock.today())
    except Conflict as exc:
        raise Permanent(exc.message) from exc


@durable(Task.POINTS_ACCRUE)
async def points_accrue(run: JobRun, *, month: str | None = None) -> dict[str, Any]:
    try:
        return await points_jobs.run_accrual(run.sm, month=_month(month))
    except Conflict as exc:
        raise Permanent(exc.message) from exc


@durable(Task.WEBHOOKS)
async def deliver_webhooks(run: JobRun, *, rounds: int = 20) -> dict[str, int]:
    """Send what is due, in rounds of 100, until nothing is due (or `rounds` ran)."""
    totals = {"delivered": 0, "retry": 0, "failed": 0}
    for _ in range(rounds):
        counts = await webhooks.deliver_due(run.sm, limit=100, allow_local=get_settings().webhooks_local_allowed)
        for k, v in counts.items():
            totals[k] += v
        if not any(counts.values()):
            break
    return totals


@durable(Task.SETTLEMENTS)
async def settlement_statements(run: JobRun, *, month: str | None = None) -> dict[str, Any]:
    start = _month(month)
    end = clock.add_months(start, 1) - timedelta(days=1)
    async with own_transaction(run.sm) as s:
        made = await settlement.generate_all(s, period_start=start, period_end=end)
    return {"month": start.strftime("%Y-%m"), "statements": len(made)}


@durable(Task.INCENTIVES)
async def incentive_statements(run: JobRun, *, month: str | None = None) -> dict[str, Any]:
    start = _month(month)
    async with own_transaction(run.sm) as s:
        out = await incentives.run_month(s, start, actor="jobs")
    return {"month": start.strftime("%Y-%m"), **out}


@durable(Task.REBATES)
async def rebate_postings(run: JobRun, *, month: str | None = None) -> dict[str, Any]:
    """Post the rebate instalments due by the month (default: the current one, run on the 1st)."""
    return await contracts.post_due(run.sm, month=_month(month or "current"))


@durable(Task.PLAN_CHANGES)
async def apply_plan_changes(run: JobRun, *, day: str | None = None) -> dict[str, Any]:
    """Apply the next-month plan changes whose month has started (daily after local midnight)."""
    try:
        as_of = date.fromisoformat(day) if day else clock.today()
    except ValueError:
        raise Permanent(f"day must be YYYY-MM-DD (got {day!r})") from None
    return await plan_change.apply_due(run.sm, day=as_of)


@durable(Task.TICK, periodic="* * * * *", retry=Backoff(max_attempts=1))
async def tick(run: JobRun, *, timestamp: int | None = None) -> dict[str, Any]:
    """The scheduler: queue every schedule whose cron time (Asia/Shanghai) has come since it last fired."""
    return {"queued": await schedules.fire_due(run.sm)}


@durable(Task.PURGE)
async def purge_jobs(run: JobRun, *, keep_days: int | None = None) -> dict[str, int]:
    """Delete finished jobs older than `keep_days` (default: the jobs_keep_days setting)."""
    days = keep_days if keep_days is not None else get_settings().jobs_keep_days
    if days < 1:
        raise Permanent(f"keep_days must be at least 1 (got {days})")
    async with own_transaction(run.sm) as s:
        return await purge.purge_finished(s, keep_days=days)


@durable(Task.TRAIN)
async def train_model(
    run: JobRun,
    *,
    horizon: int = 2,
    candidate: str = "auto",
    activate: bool = False,
    capacity: float = 0.05,
    as_of: str | None = None,
    actor: str = "jobs",
) -> dict[str, Any]:
    """Fit a churn model (POST /v1/models/train). Another training running is retried later."""
    try:
        version = await registry.train(
            run.sm,
            horizon=horizon,
            candidate=candidate,
            activate=activate,
            capacity=capacity,
            latest=date.fromisoformat(as_of) if as_of else None,
        )
    except registry.TrainingInProgress:
        raise  # retried with backoff once the other training ends
    except Conflict as exc:  # no churn history, unknown candidate: a retry cannot help
        raise Permanent(exc.message) from exc
    await run.progress(1.0, version=version, actor=actor)
    return {"version": version}
