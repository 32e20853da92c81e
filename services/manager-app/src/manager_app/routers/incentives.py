"""Incentive statements: a manager's own; a branch head's branch managers'."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from manager_app.auth import CurrentManager
from manager_app.schemas import StaffId
from shared.auth import scoping
from shared.manager import incentives as service
from shared.manager.kpis import parse_month
from shared.models import StaffUser
from shared.web.deps import ReadSession
from shared.web.params import MONTH

router = APIRouter(prefix="/v1", tags=["incentives"])

Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default all months")]


@router.get("/incentives/statements", summary="Incentive statements I may see (mine, or my branch's)")
async def statements(principal: CurrentManager, session: ReadSession, month: Month = None) -> list[dict[str, Any]]:
    ids = list((await session.scalars(select(StaffUser.id).where(scoping.staff_visible(principal)))).all())
    rows = await service.statements(session, manager_ids=ids, month=parse_month(month) if month else None)
    return [service.statement_out(s) for s in rows]


@router.get("/incentives/managers/{manager_id}/statements", summary="One manager's statements")
async def for_manager(
    manager_id: StaffId, principal: CurrentManager, session: ReadSession, month: Month = None
) -> list[dict[str, Any]]:
    staff = await scoping.get_visible_staff(session, principal, manager_id)
    rows = await service.statements(session, manager_ids=[staff.id], month=parse_month(month) if month else None)
    return [service.statement_out(s) for s in rows]
