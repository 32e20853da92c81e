"""The nightly run: every stage in order, each recorded in engine_run_stages (status, rows,
seconds), the run in engine_runs. A cluster-wide advisory lock, held on a dedicated connection,
keeps two runs from overlapping. Every stage is idempotent, so a failed run is repaired by
starting another one (for the same date): nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext, suppress
from dataclasses import replace
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import clock
from shared.churn.pipeline import cores_shared
from shared.churn.registry import NoChurnHistory
from shared.churn.scoring import score_all, start_training_if_needed
from shared.db.locking import Lock, session_lock
from shared.db.transactions import own_transaction
from shared.engine import assignment, care, clusters, features, fourhigh, profiles, strategies, tags, tiers
from shared.engine.jobs import RunContext, Stopwatch, analyze_if_stale, id_range, vacuum
from shared.errors import Conflict
from shared.logging import get_logger

log = get_logger(__name__)


async def churn_stage(ctx: RunContext) -> int:
    """Churn scores (`shared.churn.scoring.score_all`). Skipped with a logged note when there is
    no churn history to train a first model on; any other failure fails the run."""
    try:
        return int(
            await score_all(ctx.sm, run_id=ctx.run_id, incremental=ctx.incremental, training=ctx.churn_training) or 0
        )
    except NoChurnHistory as exc:
        ctx.notes["churn"] = f"skipped: {exc}"
        log.warning("engine.churn.skipped", reason=str(exc))
        return 0


SOURCE_TABLES = [
    "customers",
    "monthly_usage",
    "complaints",
    "competitor_calls",
    "handsets",
    "subscriptions",
    "touches",
    "products",
]
OUTPUT_TABLES = {
    "features": ["customer_features"],
    "profiles": ["customer_profiles", "four_high_flags"],
    "tags": ["customer_tag_sets"],
    "strategies": ["recommendations"],
    "assignment": ["manager_assignments"],
}

# What each stage writes (its triggers included: a profile's churn score or ARPU moves its
# assignment's revenue at risk), vacuumed once the run is done (`jobs.vacuum`).
WRITTEN_TABLES = {
    "features": ["customer_features"],
    "tiers": ["customers", "customer_features"],
    "churn": ["customer_profiles", "manager_assignments"],
    "four_high": ["four_high_flags"],
    "profiles": ["customer_profiles", "manager_assignments"],
    "tags": ["customer_tag_sets"],
    "strategies": ["recommendations"],
    "assignment": ["manager_assignments"],
    "care_tasks": ["care_tasks"],
}


async def features_stage(ctx: RunContext) -> int:
    await analyze_if_stale(ctx.sm, SOURCE_TABLES)
    return await features.run(ctx)


Stage = tuple[str, Callable[[RunContext], Awaitable[int]]]
STAGES: list[Stage] = [
    ("features", features_stage),
    ("tiers", tiers.run),
    ("churn", churn_stage),
    ("clusters", clusters.run),
    ("four_high", fourhigh.run),
    ("profiles", profiles.run),
    ("assignment", assignment.run),
    ("tags", tags.run),
    ("strategies", strategies.run),
    ("care_tasks", care.run),
]
STAGE_NAMES = [name for name, _ in STAGES]
# Stages that run side by side (they must be consecutive in STAGES): churn scoring reads only the
# source tables and writes the churn columns of profiles; clusters and four-high read features
# (and the usage feeds) and write their own tables; profiles, after them, reads all three.
# Assignment reads profiles, features and customers and writes assignments (and their history);
# tags read profiles and features and write tag sets; neither reads what the other writes, and
# care tasks, last, read both assignments and the strategies' recommendations.
BESIDE: list[frozenset[str]] = [
    frozenset({"churn", "clusters", "four_high"}),
    frozenset({"assignment", "tags"}),
]


class RunInProgress(Conflict):
    code = "engine_run_in_progress"


async def create_run(session: AsyncSession, run_date: date, status: str = "queued", job_id: int | None = None) -> int:
    return int(
        await session.scalar(
            text("INSERT INTO engine_runs (run_date, status, job_id) VALUES (:d, :s, :j) RETURNING id"),
            {"d": run_date, "s": status, "j": job_id},
        )
    )


async def run_for_job(session: AsyncSession, job_id: int, run_date: date) -> tuple[int, date]:
    """The run row (id, day) of queue job `job_id`, created on its first attempt (a retry resumes it)."""
    found = (
        await session.execute(
            text("SELECT id, run_date FROM engine_runs WHERE job_id = :j ORDER BY id LIMIT 1"), {"j": job_id}
        )
    ).first()
    if found is not None:
        return int(found.id), found.run_date
    return await create_run(session, run_date, "queued", job_id), run_date


async def run_nightly(
    engine: AsyncEngine,
    *,
    run_date: date | None = None,
    run_id: int | None = None,
    chunk: int = 50_000,
    parallel: int = 2,
    only: list[str] | None = None,
    resume: bool = False,
    on_stage_done: Callable[[str], Awaitable[None]] | None = None,
    incremental: bool = False,
) -> int:
    """Run the stages (all, or `only`) for `run_date` (default: today, Asia/Shanghai); return the run id.

    `incremental`: stages that keep a watermark (churn scoring) recompute only the customers
    changed since their last complete pass, and everything when what they depend on changed
    (another model or cut-off month). `python -m shared.engine run` and the nightly job pass
    TENURE_ENGINE_INCREMENTAL (default on); `--full` forces a full night.

    Raises RunInProgress if another run holds the lock (the run row, if given, is marked failed).
    A stage that raises marks the stage and the run failed and re-raises; later stages don't run.
    With `resume` (a retried queue job), stages this run already finished are not run again.
    """
    sm = async_sessionmaker(engine, expire_on_commit=False)
    day = run_date or clock.today()
    async with session_lock(engine, Lock.ENGINE_RUN) as got:
        if not got:
            if run_id is not None:
                async with own_transaction(sm) as s:
                    await s.execute(
                        text(
                            "UPDATE engine_runs SET status = 'failed', error = :e, finished_at = now() WHERE id = :id"
                        ),
                        {"id": run_id, "e": "another run was in progress"},
                    )
            raise RunInProgress("another engine run is in progress")
        async with own_transaction(sm) as s:
            if run_id is None:
                run_id = await create_run(s, day, "running")
            else:
                await s.execute(
                    text("UPDATE engine_runs SET status = 'running', run_date = :d WHERE id = :id"),
                    {"id": run_id, "d": day},
                )
            lo, hi = await id_range(s)
            finished = set()
            if resume:
                finished = set(
                    (
                        await s.scalars(
                            text("SELECT stage FROM engine_run_stages WHERE run_id = :r AND status = 'done'"),
                            {"r": run_id},
                        )
                    ).all()
                )
        await _run_stages(sm, run_id, day, lo, hi, chunk, parallel, only, finished, on_stage_done, incremental)
    return run_id


@asynccontextmanager
async def _early_training(
    sm: async_sessionmaker[AsyncSession], wanted: bool
) -> AsyncIterator[asyncio.Task[int] | None]:
    """A first churn model trained beside the stages before churn (`start_training_if_needed`).
    A run that fails before churn cancels it (a fit in progress finishes in its thread and is
    discarded: the model is registered only after the fit returns)."""
    task = await start_training_if_needed(sm) if wanted else None
    try:
        yield task
    finally:
        if task is not None:
            task.cancel()  # a no-op once it is done
            with suppress(asyncio.CancelledError, Exception):
                await task  # retrieved: a failure the churn stage never awaited is not an orphan


def steps(stages: list[Stage]) -> list[list[Stage]]:
    """STAGES in order, consecutive members of a BESIDE group joined into one step."""
    out: list[list[Stage]] = []
    for item in stages:
        group = next((g for g in BESIDE if item[0] in g), None)
        if out and group is not None and out[-1][0][0] in group:
            out[-1].append(item)
        else:
            out.append([item])
    return out


async def _run_stages(
    sm: async_sessionmaker[AsyncSession],
    run_id: int,
    day: date,
    lo: int,
    hi: int,
    chunk: int,
    parallel: int,
    only: list[str] | None,
    finished: set[str],
    on_stage_done: Callable[[str], Awaitable[None]] | None,
    incremental: bool = False,
) -> None:
    log.info("engine.run.started", run_id=run_id, run_date=day.isoformat(), lo=lo, hi=hi, resumed=sorted(finished))
    written: list[str] = []
    churn_runs = "churn" not in finished and (not only or "churn" in only)
    async with _early_training(sm, churn_runs) as training:
        base = RunContext(
            sm=sm,
            run_id=run_id,
            run_date=day,
            lo=lo,
            hi=hi,
            chunk=chunk,
            parallel=parallel,
            incremental=incremental,
            churn_training=training,
        )
        for step in steps(STAGES):
            todo: list[Stage] = []
            for name, stage in step:
                if only and name not in only:
                    continue
                written += [t for t in WRITTEN_TABLES.get(name, []) if t not in written]
                if name in finished:
                    if on_stage_done is not None:
                        await on_stage_done(name)
                    continue
                todo.append((name, stage))
            # side by side: a failing stage lets the others of its step finish, then fails the run
            results = await asyncio.gather(
                *(_run_stage(base, name, stage, on_stage_done) for name, stage in todo), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise failures[0]
    # the morning's reads find the night's tables clean (see jobs.vacuum); part of the run's time
    log.info("engine.vacuum.done", run_id=run_id, seconds=await vacuum(sm, written))
    async with own_transaction(sm) as s:
        await s.execute(
            text("UPDATE engine_runs SET status = 'done', finished_at = now(), error = NULL WHERE id = :r"),
            {"r": run_id},
        )
    log.info("engine.run.done", run_id=run_id)


async def _run_stage(
    base: RunContext,
    name: str,
    stage: Callable[[RunContext], Awaitable[int]],
    on_stage_done: Callable[[str], Awaitable[None]] | None,
) -> None:
    """One stage with its bookkeeping: its engine_run_stages row (running, then done with rows
    and seconds, or failed with the run), the ANALYZE of its outputs, the caller's callback."""
    sm, run_id = base.sm, base.run_id
    async with own_transaction(sm) as s:
        await s.execute(
            text(
                "INSERT INTO engine_run_stages (run_id, stage, status, rows, seconds) VALUES (:r, :st, 'running', 0, 0) "
                "ON CONFLICT (run_id, stage) DO UPDATE SET status = 'running', rows = 0, seconds = 0, started_at = now()"
            ),
            {"r": run_id, "st": name},
        )

    async def progress(n: int) -> None:
        async with own_transaction(sm) as s:
            await s.execute(
                text("UPDATE engine_run_stages SET rows = rows + :n WHERE run_id = :r AND stage = :st"),
                {"n": n, "r": run_id, "st": name},
            )

    ctx = replace(base, progress=progress, notes={})
    watch = Stopwatch()
    # a first churn model may be training meanwhile; the churn stage itself only waits for it
    sharing = nullcontext() if name == "churn" else cores_shared()
    try:
        with sharing:
            rows = await stage(ctx)
    except Exception as exc:
        async with own_transaction(sm) as s:
            await s.execute(
                text(
                    "UPDATE engine_run_stages SET status = 'failed', seconds = :sec WHERE run_id = :r AND stage = :st"
                ),
                {"sec": watch.seconds, "r": run_id, "st": name},
            )
            await s.execute(
                text("UPDATE engine_runs SET status = 'failed', finished_at = now(), error = :e WHERE id = :r"),
                {"r": run_id, "e": f"{name}: {type(exc).__name__}: {exc}"[:4000]},
            )
        log.error("engine.stage.failed", run_id=run_id, stage=name, error=traceback.format_exc(limit=5))
        raise
    await analyze_if_stale(sm, OUTPUT_TABLES.get(name, []))
    async with own_transaction(sm) as s:
        await s.execute(
            text(
                "UPDATE engine_run_stages SET status = 'done', rows = :rows, seconds = :sec WHERE run_id = :r AND stage = :st"
            ),
            {"rows": rows, "sec": watch.seconds, "r": run_id, "st": name},
        )
    log.info("engine.stage.done", run_id=run_id, stage=name, rows=rows, seconds=watch.seconds, notes=ctx.notes or None)
    if on_stage_done is not None:
        await on_stage_done(name)


async def run_status(session: AsyncSession, run_id: int) -> dict | None:
    run = (
        await session.execute(
            text("SELECT id, run_date, status, created_at, finished_at, error FROM engine_runs WHERE id = :id"),
            {"id": run_id},
        )
    ).first()
    if run is None:
        return None
    stages = await session.execute(
        text("SELECT stage, status, rows, seconds, started_at FROM engine_run_stages WHERE run_id = :id"),
        {"id": run_id},
    )
    by_name = {r.stage: dict(r._mapping) for r in stages}
    ordered = [
        by_name.get(n, {"stage": n, "status": "pending", "rows": 0, "seconds": 0.0, "started_at": None})
        for n in STAGE_NAMES
    ]
    done = sum(1 for s in ordered if s["status"] == "done")
    return {**dict(run._mapping), "stages": ordered, "progress": round(done / len(STAGE_NAMES), 3)}
