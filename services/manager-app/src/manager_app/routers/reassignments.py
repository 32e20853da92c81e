"""Reassignment requests: managers see their own, branch heads their branch's and decide them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from manager_app.auth import CurrentBranchHead, CurrentManager
from manager_app.schemas import DecisionIn, ReassignmentOut, RequestId
from shared.manager import tasks as service
from shared.web.deps import ReadSession, WriteSession

router = APIRouter(prefix="/v1", tags=["reassignments"])


@router.get("/reassignment-requests", response_model=list[ReassignmentOut], summary="Reassignment requests I can see")
async def list_requests(
    principal: CurrentManager, session: ReadSession, status: Literal["pending", "approved", "rejected"] | None = None
) -> list[dict[str, Any]]:
    return [service.request_out(r) for r in await service.list_reassignments(session, principal, status=status)]


@router.post(
    "/reassignment-requests/{request_id}/decision",
    response_model=ReassignmentOut,
    summary="Branch head: approve (moves the assignment, records history) or reject",
)
async def decide(
    request_id: RequestId, body: DecisionIn, principal: CurrentBranchHead, session: WriteSession
) -> dict[str, Any]:
    req = await service.decide_reassignment(
        session, principal, request_id, approve=body.approve, to_manager_id=body.to_manager_id
    )
    return service.request_out(req)
