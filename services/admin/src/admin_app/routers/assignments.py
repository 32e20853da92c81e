"""Managers' customer assignments: view, move by hand (reason kept in assignment_history), unassign."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, Strict, page, record
from shared.backoffice import assignments as assignment_service
from shared.backoffice import capacity as capacity_service
from shared.backoffice.permissions import branch_scope, check_branch
from shared.masking import mask_name, mask_phone
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import After, BigRefId, Id, IntId, RefId

router = APIRouter(prefix="/v1", tags=["assignments"])


class AssignmentOut(BaseModel):
    customer_id: int
    customer_name: str | None
    customer_phone: str | None
    branch_id: int | None
    manager_id: int
    manager_username: str
    reason: str
    since: datetime


class MoveIn(Strict):
    customer_ids: list[BigRefId] = Field(min_length=1, max_length=1000)
    to_manager_id: RefId
    reason: str = Field(min_length=3, max_length=200)
    force: bool = Field(False, description="Assign even if the manager goes over capacity")


class UnassignIn(Strict):
    customer_ids: list[BigRefId] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=3, max_length=200)


class MoveOut(BaseModel):
    moved: list[int]
    unchanged: list[int]
    manager_load: int | None


class HistoryOut(BaseModel):
    id: int
    customer_id: int
    from_manager_id: int | None
    to_manager_id: int | None
    reason: str
    actor_id: int | None
    at: datetime


@router.get("/assignments", response_model=Page[AssignmentOut], summary="Who owns which customer")
async def list_assignments(
    principal: can("assignments.read"),
    session: ReadSession,
    manager_id: IntId | None = None,
    customer_id: Id | None = None,
    after: After = 0,
    limit: int = Limit,
) -> Page[AssignmentOut]:
    rows = await assignment_service.list_assignments(
        session,
        manager_id=manager_id,
        customer_id=customer_id,
        branch=branch_scope(principal),
        after=after,
        limit=limit,
    )
    items = [
        AssignmentOut(
            customer_id=a.customer_id,
            customer_name=mask_name(c.name),
            customer_phone=mask_phone(c.phone),
            branch_id=c.branch_id,
            manager_id=a.manager_id,
            manager_username=s.username,
            reason=a.reason,
            since=a.created_at,
        )
        for a, c, s in rows
    ]
    return page(items, limit, key="customer_id")


class BranchCapacityOut(BaseModel):
    branch_id: int
    branch_name: str | None
    high_value: int
    assigned: int
    unassigned: int
    managers: int
    capacity: int
    load: int


@router.get(
    "/assignments/capacity",
    response_model=list[BranchCapacityOut],
    summary="High-value customers without a manager, per branch, and the managers' room",
)
async def capacity(principal: can("assignments.read"), session: ReadSession) -> list[BranchCapacityOut]:
    rows = await capacity_service.by_branch(session, branch=branch_scope(principal))
    return [BranchCapacityOut(**vars(r)) for r in rows]


class UnassignedOut(BaseModel):
    customer_id: int
    customer_name: str | None
    customer_phone: str | None
    tier: str | None
    arpu_fen: int
    risk_level: str | None


class ManagerRoomOut(BaseModel):
    id: int
    username: str
    full_name: str
    capacity: int
    load: int


@router.get(
    "/assignments/capacity/{branch_id}/unassigned",
    response_model=Page[UnassignedOut],
    responses={404: {}},
    summary="One branch's high-value customers without a manager (masked), by id",
)
async def capacity_unassigned(
    branch_id: IntId, principal: can("assignments.read"), session: ReadSession, after: After = 0, limit: int = Limit
) -> Page[UnassignedOut]:
    check_branch(principal, branch_id)
    rows = await capacity_service.unassigned(session, branch_id=branch_id, after=after, limit=limit)
    items = [
        UnassignedOut(
            customer_id=r.customer_id,
            customer_name=mask_name(r.name),
            customer_phone=mask_phone(r.phone),
            tier=r.tier,
            arpu_fen=r.arpu_fen,
            risk_level=r.risk_level,
        )
        for r in rows
    ]
    return page(items, limit, key="customer_id")


@router.get(
    "/assignments/capacity/{branch_id}/managers",
    response_model=list[ManagerRoomOut],
    responses={404: {}},
    summary="One branch's active account managers: capacity and load, most room first",
)
async def capacity_managers(
    branch_id: IntId, principal: can("assignments.read"), session: ReadSession
) -> list[ManagerRoomOut]:
    check_branch(principal, branch_id)
    return [ManagerRoomOut(**vars(m)) for m in await capacity_service.managers(session, branch_id=branch_id)]


@router.get("/assignments/history", response_model=list[HistoryOut], summary="Assignment changes, newest first")
async def assignment_history(
    principal: can("assignments.read"),
    session: ReadSession,
    customer_id: Id | None = None,
    manager_id: IntId | None = None,
    before: Id | None = None,
    limit: int = Limit,
) -> list[HistoryOut]:
    rows = await assignment_service.history(
        session,
        customer_id=customer_id,
        manager_id=manager_id,
        branch=branch_scope(principal),
        before=before,
        limit=limit,
    )
    return [
        HistoryOut(
            id=h.id,
            customer_id=h.customer_id,
            from_manager_id=h.from_manager_id,
            to_manager_id=h.to_manager_id,
            reason=h.reason,
            actor_id=h.actor_id,
            at=h.created_at,
        )
        for h in rows
    ]


@router.post("/assignments/move", response_model=MoveOut, summary="Move customers to a manager, with a reason")
async def move(body: MoveIn, request: Request, principal: can("assignments.write"), session: WriteSession) -> MoveOut:
    result = await assignment_service.reassign(
        session,
        customer_ids=body.customer_ids,
        to_manager_id=body.to_manager_id,
        reason=body.reason,
        actor_id=principal.id,
        branch=branch_scope(principal),
        force=body.force,
    )
    if result.moved:
        await record(
            session,
            request,
            principal,
            "assignment.move",
            "manager",
            body.to_manager_id,
            {"customers": result.moved[:200], "count": len(result.moved), "reason": body.reason, "forced": body.force},
        )
    return MoveOut(moved=result.moved, unchanged=result.unchanged, manager_load=result.manager_load)


@router.post("/assignments/unassign", response_model=MoveOut, summary="Remove customers from their manager")
async def unassign(
    body: UnassignIn, request: Request, principal: can("assignments.write"), session: WriteSession
) -> MoveOut:
    result = await assignment_service.unassign(
        session,
        customer_ids=body.customer_ids,
        reason=body.reason,
        actor_id=principal.id,
        branch=branch_scope(principal),
    )
    if result.moved:
        await record(
            session,
            request,
            principal,
            "assignment.unassign",
            "customer",
            None,
            {"customers": result.moved[:200], "count": len(result.moved), "reason": body.reason},
        )
    return MoveOut(moved=result.moved, unchanged=result.unchanged, manager_load=None)
