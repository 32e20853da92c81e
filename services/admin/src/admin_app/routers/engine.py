"""The nightly retention engine from the back office: start a run, follow its stages, read and
name the behavioural clusters, see segment sizes, edit engine thresholds and the holiday calendar.

A run executes in its own process (`python -m shared.engine run --run-id N`), never inside this
API process (`shared.engine.launch` starts it); the advisory lock in the runner guarantees one run
at a time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.auth import Analysts, AnyStaff, Operators, Strategists
from admin_app.routers._backoffice import Strict, record
from shared import clock
from shared.engine import launch
from shared.engine.runner import STAGE_NAMES, run_status
from shared.errors import NotFound, Unprocessable
from shared.programme import settings as programme_settings
from shared.web.deps import ReadSession, SessionMaker, WriteSession
from shared.web.params import INT_MAX, IntId

router = APIRouter(prefix="/v1", tags=["engine"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found"},
    409: {"description": "A run is in progress"},
}


class RunIn(Strict):
    run_date: date | None = Field(None, description=f"Day to compute for (default: today, {clock.TZ_NAME})")
    stages: list[Literal[tuple(STAGE_NAMES)]] | None = Field(None, min_length=1, max_length=len(STAGE_NAMES))  # type: ignore[valid-type]


class StageOut(BaseModel):
    stage: str
    status: str
    rows: int
    seconds: float
    started_at: datetime | None


class RunOut(BaseModel):
    id: int
    run_date: date
    status: str
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    progress: float
    stages: list[StageOut]


class RunSummary(BaseModel):
    id: int
    run_date: date
    status: str
    created_at: datetime
    finished_at: datetime | None


@router.post(
    "/engine/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses=ERRORS,
    summary="Queue a nightly run on the job worker; poll GET /v1/engine/runs/{id}",
)
async def start_run(body: RunIn, principal: Operators, request: Request, sm: SessionMaker) -> RunOut:
    async def audit(s: AsyncSession, run_id: int, run_date: date) -> None:
        await record(
            s,
            request,
            principal,
            "engine.run.start",
            "engine_run",
            run_id,
            {"run_date": run_date.isoformat(), "stages": body.stages},
        )

    out = await launch.start_run(
        sm, run_date=body.run_date, stages=list(body.stages) if body.stages else None, on_queued=audit
    )
    return RunOut(**out)


@router.get("/engine/runs", response_model=list[RunSummary], summary="Recent engine runs, newest first")
async def list_runs(
    principal: AnyStaff, session: ReadSession, limit: int = Query(20, ge=1, le=100)
) -> list[RunSummary]:
    rows = await session.execute(
        text("SELECT id, run_date, status, created_at, finished_at FROM engine_runs ORDER BY id DESC LIMIT :n"),
        {"n": limit},
    )
    return [RunSummary(**dict(r._mapping)) for r in rows]


@router.get(
    "/engine/runs/{run_id}",
    response_model=RunOut,
    responses=ERRORS,
    summary="A run's progress: per stage status, rows and seconds",
)
async def get_run(run_id: IntId, principal: AnyStaff, session: ReadSession) -> RunOut:
    out = await run_status(session, run_id)
    if out is None:
        raise NotFound("engine run not found", run_id=run_id)
    return RunOut(**out)


class ClusterOut(BaseModel):
    cluster_id: int
    label: str
    label_edited: bool
    population: int
    sample_size: int
    description: list[dict[str, Any]]
    fitted_at: datetime


class ClusterLabelIn(Strict):
    label: str = Field(min_length=1, max_length=200)


@router.get(
    "/engine/clusters",
    response_model=list[ClusterOut],
    summary="Behavioural clusters with their distinguishing features (z-scores vs the population)",
)
async def list_clusters(principal: Analysts, session: ReadSession) -> list[ClusterOut]:
    rows = await session.execute(
        text(
            "SELECT cluster_id, label, label_edited, population, sample_size, description, fitted_at "
            "FROM behaviour_clusters ORDER BY cluster_id"
        )
    )
    return [ClusterOut(**dict(r._mapping)) for r in rows]


ClusterId = Annotated[int, Ge(0), Le(INT_MAX)]  # k-means clusters are numbered from 0


@router.patch(
    "/engine/clusters/{cluster_id}",
    response_model=ClusterOut,
    responses=ERRORS,
    summary="Name a cluster (kept across refits)",
)
async def name_cluster(
    cluster_id: ClusterId, body: ClusterLabelIn, principal: Strategists, request: Request, session: WriteSession
) -> ClusterOut:
    row = (
        await session.execute(
            text(
                "UPDATE behaviour_clusters SET label = :l, label_edited = true WHERE cluster_id = :id "
                "RETURNING cluster_id, label, label_edited, population, sample_size, description, fitted_at"
            ),
            {"l": body.label, "id": cluster_id},
        )
    ).first()
    if row is None:
        raise NotFound("cluster not found", cluster_id=cluster_id)
    await record(
        session, request, principal, "engine.cluster.label", "behaviour_cluster", cluster_id, {"label": body.label}
    )
    return ClusterOut(**dict(row._mapping))


class SegmentCount(BaseModel):
    segment: str | None
    sub_segment: str | None
    lifecycle_stage: str | None
    customers: int


@router.get(
    "/engine/segments",
    response_model=list[SegmentCount],
    summary="Customers per stability segment, sub-segment and lifecycle stage",
)
async def segment_counts(principal: Analysts, session: ReadSession) -> list[SegmentCount]:
    rows = await session.execute(
        text(
            "SELECT segment, sub_segment, lifecycle_stage, count(*) AS customers FROM customer_profiles "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    )
    return [SegmentCount(**dict(r._mapping)) for r in rows]


SettingKey = Literal[
    "four_high", "contact_pressure", "segments", "assignment", "clusters", "care", "measurement", "retention_budget"
]


@router.get(
    "/engine/settings/{key}", response_model=dict[str, float | int], summary="Engine thresholds (defaults merged)"
)
async def get_engine_settings(key: SettingKey, principal: Analysts, session: ReadSession) -> dict[str, Any]:
    return await programme_settings.get(session, key)


@router.put(
    "/engine/settings/{key}",
    response_model=dict[str, float | int],
    summary="Change engine thresholds (only known members, numbers only)",
)
async def put_engine_settings(
    key: SettingKey, body: dict[str, float], principal: Strategists, request: Request, session: WriteSession
) -> dict[str, Any]:
    return await put_engine_setting(session, request, principal, key, body)


async def put_engine_setting(session, request, principal, key: str, body: dict[str, float]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    allowed = programme_settings.DEFAULTS[key]
    unknown = sorted(set(body) - set(allowed))
    if unknown or not body:
        raise Unprocessable("unknown or missing settings", unknown=unknown[:20], allowed=sorted(allowed))
    clean: dict[str, Any] = {}
    for name, value in body.items():
        if value < 0 or value > 10_000_000:
            raise Unprocessable("value out of range", setting=name)
        clean[name] = int(value) if isinstance(allowed[name], int) and float(value).is_integer() else value
        if isinstance(allowed[name], int) and not float(value).is_integer():
            raise Unprocessable("value must be a whole number", setting=name)
    out = await programme_settings.update(session, key, clean, staff_id=principal.id)
    await record(session, request, principal, "engine.settings.update", "programme_setting", key, clean)
    return out


class HolidayIn(Strict):
    name: str = Field(min_length=1, max_length=60)
    greeting_template: str = Field(min_length=1, max_length=500, description="`{name}` is replaced by the salutation")


class HolidayOut(HolidayIn):
    day: date


@router.get("/holidays", response_model=list[HolidayOut], summary="Holiday calendar used for greeting tasks")
async def list_holidays(
    principal: AnyStaff, session: ReadSession, year: int | None = Query(None, ge=2000, le=2100)
) -> list[HolidayOut]:
    rows = await session.execute(
        text(
            "SELECT day, name, greeting_template FROM holidays "
            "WHERE CAST(:y AS int) IS NULL OR extract(year FROM day) = :y ORDER BY day"
        ),
        {"y": year},
    )
    return [HolidayOut(**dict(r._mapping)) for r in rows]


@router.put("/holidays/{day}", response_model=HolidayOut, summary="Add or change a holiday")
async def put_holiday(
    day: date, body: HolidayIn, principal: Strategists, request: Request, session: WriteSession
) -> HolidayOut:
    await session.execute(
        text(
            "INSERT INTO holidays (day, name, greeting_template) VALUES (:d, :n, :g) "
            "ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name, greeting_template = EXCLUDED.greeting_template"
        ),
        {"d": day, "n": body.name, "g": body.greeting_template},
    )
    await record(session, request, principal, "holiday.put", "holiday", day.isoformat(), body.model_dump())
    return HolidayOut(day=day, **body.model_dump())


@router.delete("/holidays/{day}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS, summary="Remove a holiday")
async def delete_holiday(day: date, principal: Strategists, request: Request, session: WriteSession) -> None:
    result = await session.execute(text("DELETE FROM holidays WHERE day = :d"), {"d": day})
    if not result.rowcount:
        raise NotFound("holiday not found", day=day.isoformat())
    await record(session, request, principal, "holiday.delete", "holiday", day.isoformat())
