"""Churn early-warning models: list with metrics, train in the background, compare, activate.

Training reads history and fits for seconds to minutes, so POST /models/train answers 202 at once
with the id of a `models.train` job on the durable queue (shared.jobs): the worker fits (one
training at a time through the registry's advisory lock and the job lock), a killed worker's job
is retried, and the new version shows up in GET /models when done (progress: GET /v1/jobs/{id}). Activation switches
which model the nightly run scores with; every start and switch leaves an audit row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from admin_app.auth import Analysts
from admin_app.routers._backoffice import Strict, record
from shared.churn import registry
from shared.churn.pipeline import CANDIDATE_BY_NAME
from shared.db.transactions import own_transaction
from shared.jobs import queue
from shared.jobs.queue import Task
from shared.logging import get_logger
from shared.web.deps import ReadSession, SessionMaker, WriteSession
from shared.web.params import Count, IntId

router = APIRouter(prefix="/v1", tags=["churn models"])
log = get_logger(__name__)
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such model"},
    409: {"description": "A training is already running"},
}
CandidateName = Literal[("auto", *CANDIDATE_BY_NAME)]  # type: ignore[valid-type]


class ModelOut(BaseModel):
    version: int
    algorithm: str
    active: bool
    created_at: datetime
    train_from: date | None
    train_to: date | None
    features: list[str]
    metrics: dict[str, Any] = Field(description="Out-of-time roc_auc, top_decile_lift, precision_at_capacity, ...")
    factor_ranking: list[dict[str, Any]] = Field(description="Top churn factors by information gain")


class TrainIn(Strict):
    horizon: Annotated[Count, Field(ge=1, le=6)] = Field(
        2, description="Label: churned within this many months after the cut-off"
    )
    candidate: CandidateName = Field("auto", description="Model family; auto picks by CV on the training window")
    activate: bool = Field(False, description="Activate the new model when training succeeds")
    capacity: float = Field(0.05, gt=0, le=1, description="Contact capacity as a share of the base")
    as_of: date | None = Field(None, description="Last complete usage month (default: the latest loaded)")


class TrainAccepted(BaseModel):
    status: Literal["queued"]
    job_id: int = Field(description="The models.train job (GET /v1/jobs/{id}: status, attempts, last error)")
    detail: str


class CompareOut(BaseModel):
    versions: list[int]
    models: list[dict[str, Any]]


@router.get("/models", response_model=list[ModelOut], summary="Churn models, newest first, with their metrics")
async def list_models(principal: Analysts, session: ReadSession) -> list[ModelOut]:
    return [ModelOut(**m) for m in await registry.list_models(session)]


@router.get(
    "/models/compare",
    response_model=CompareOut,
    responses=ERRORS,
    summary="Metrics of several models side by side, with differences from the first",
)
async def compare_models(
    principal: Analysts,
    session: ReadSession,
    versions: list[IntId] = Query(..., min_length=2, max_length=10, description="Repeat: ?versions=1&versions=2"),
) -> CompareOut:
    return CompareOut(**await registry.compare(session, [int(v) for v in versions]))


@router.get("/models/{version}", response_model=ModelOut, responses=ERRORS, summary="One model")
async def get_model(version: IntId, principal: Analysts, session: ReadSession) -> ModelOut:
    return ModelOut(**await registry.get(session, version))


@router.post(
    "/models/train",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrainAccepted,
    responses=ERRORS,
    summary="Train a new model from history in the background",
)
async def train_model(body: TrainIn, principal: Analysts, request: Request, sm: SessionMaker) -> TrainAccepted:
    # the audit row and the job commit together: a rollback queues nothing
    async with own_transaction(sm) as s:
        if await registry.training_in_progress(s):
            raise registry.TrainingInProgress("a churn model is being trained already")
        args = {**body.model_dump(mode="json"), "actor": principal.subject}
        # one waiting training at a time: a second request while one waits is 409 job_already_queued
        job_id = await queue.defer(s, Task.TRAIN, args, queueing_lock="models.train")
        await record(s, request, principal, "models.train", "churn_model", None, body.model_dump(mode="json"))
    return TrainAccepted(
        status="queued", job_id=job_id, detail="the new version appears in GET /v1/models when training ends"
    )


@router.post(
    "/models/{version}/activate",
    response_model=ModelOut,
    responses=ERRORS,
    summary="Make this model the one the nightly run scores with",
)
async def activate_model(version: IntId, principal: Analysts, request: Request, session: WriteSession) -> ModelOut:
    await registry.activate(session, version)
    await record(session, request, principal, "models.activate", "churn_model", version, None)
    return ModelOut(**await registry.get(session, version))
