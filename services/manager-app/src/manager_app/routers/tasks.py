"""Care tasks: today / upcoming / overdue, start, and complete (task + touch + offer in one
transaction, idempotent by Idempotency-Key)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from manager_app.auth import CurrentManager
from manager_app.schemas import CompleteIn, CompleteOut, TaskId, TaskOut, TaskPage
from shared.manager import tasks as service
from shared.manager.contacts import ContactInput
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.render import json_response

router = APIRouter(prefix="/v1", tags=["tasks"])


@router.get("/tasks", response_model=TaskPage, summary="My care tasks by view, due date first")
async def list_tasks(
    principal: CurrentManager,
    session: ReadSession,
    view: Literal["today", "upcoming", "overdue", "done"] = "today",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    return json_response(await service.list_tasks(session, principal, view=view, after=cursor, limit=limit))


@router.get("/tasks/{task_id}", response_model=TaskOut, summary="One care task")
async def get_task(task_id: TaskId, principal: CurrentManager, session: ReadSession) -> dict[str, Any]:
    return service.task_out(await service.get_visible_task(session, principal, task_id))


@router.post("/tasks/{task_id}/start", response_model=TaskOut, summary="Start a task (open → in_progress)")
async def start_task(task_id: TaskId, principal: CurrentManager, session: WriteSession) -> dict[str, Any]:
    return service.task_out(await service.start_task(session, principal, task_id))


@router.post(
    "/tasks/{task_id}/complete",
    response_model=CompleteOut,
    summary="Complete a task: outcome, touch, any offer (with consent) and follow-up, in one transaction",
    responses={409: {"description": "already finished, or refused by contact pressure (see context.reason)"}},
)
async def complete_task(
    task_id: TaskId, body: CompleteIn, principal: CurrentManager, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    data = body.model_dump(exclude={"follow_up", "reassignment_reason"})
    follow_up = service.FollowUp(**body.follow_up.model_dump()) if body.follow_up else None

    async def handler() -> dict[str, Any]:
        return await service.complete_task(
            session,
            principal,
            task_id,
            contact=ContactInput(**data),
            follow_up=follow_up,
            reassignment_reason=body.reassignment_reason,
        )

    return await run_once(
        session, principal=principal, key=key, payload={"task": task_id, **body.model_dump()}, handler=handler
    )
