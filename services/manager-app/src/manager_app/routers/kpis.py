"""KPIs (seed 001, table 1): my month with rank and trend; a branch head's whole branch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from manager_app.auth import CurrentBranchHead, CurrentManager
from manager_app.schemas import StaffId
from shared.auth.principals import is_account_manager
from shared.errors import NotFound
from shared.manager import kpis as service
from shared.web.deps import ReadSession
from shared.web.params import MONTH

router = APIRouter(prefix="/v1", tags=["kpis"])

Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default this month")]


@router.get("/kpis/me", summary="My KPIs for a month, rank in my branch and 6-month trend")
async def mine(principal: CurrentManager, session: ReadSession, month: Month = None) -> dict[str, Any]:
    if not is_account_manager(principal):
        raise NotFound("no KPIs for this role")
    return await service.for_manager(session, principal, principal.id, service.parse_month(month))


@router.get("/kpis/branch", summary="Branch head: every account manager of my branch, ranked")
async def branch(principal: CurrentBranchHead, session: ReadSession, month: Month = None) -> dict[str, Any]:
    if principal.org_unit_id is None:
        raise NotFound("no branch")
    m = service.parse_month(month)
    return {
        "branch_id": principal.org_unit_id,
        "month": m.isoformat()[:7],
        "managers": await service.branch_ranking(session, principal.org_unit_id, m),
    }


@router.get("/kpis/managers/{manager_id}", summary="One manager's KPIs (self, or a manager of my branch)")
async def one(
    manager_id: StaffId, principal: CurrentManager, session: ReadSession, month: Month = None
) -> dict[str, Any]:
    return await service.for_manager(session, principal, manager_id, service.parse_month(month))
