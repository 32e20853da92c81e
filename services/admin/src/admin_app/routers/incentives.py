"""Back office: the account-manager incentive rules (seed 000) and the monthly statements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from admin_app.auth import Operators
from shared.audit.service import record
from shared.manager import incentives as service
from shared.manager.kpis import parse_month
from shared.web.deps import ReadSession, WriteSession, client_ip
from shared.web.params import MONTH, Count, IntId, Points

router = APIRouter(prefix="/v1", tags=["incentives"])


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retained_high_risk_points: Annotated[Points, Field(le=100_000)]
    risk_window_days: Annotated[Count, Field(ge=1, le=365)]
    uplift_points_per_yuan: Annotated[Points, Field(le=1000)]
    uplift_cap_points: Annotated[Points, Field(le=100_000)]
    uplift_baseline_months: Annotated[Count, Field(ge=1, le=12)]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH, description="YYYY-MM")


@router.get("/incentives/rules", summary="Current incentive rules")
async def get_rules(principal: Operators, session: ReadSession) -> dict[str, int]:
    return await service.get_rules(session)


@router.put("/incentives/rules", summary="Replace the incentive rules (audited)")
async def put_rules(body: RulesIn, request: Request, principal: Operators, session: WriteSession) -> dict[str, int]:
    rules = await service.set_rules(session, body.model_dump(), staff_id=principal.id)
    await record(
        session,
        principal=principal,
        action="incentives.rules.update",
        object_kind="programme_setting",
        object_id=service.SETTING_KEY,
        detail=rules,
        ip=client_ip(request),
    )
    return rules


@router.post("/incentives/statements/run", summary="Create and post every manager's statement for a month (idempotent)")
async def run(body: RunIn, request: Request, principal: Operators, session: WriteSession) -> dict[str, Any]:
    result = await service.run_month(session, parse_month(body.month), actor=principal.subject)
    await record(
        session,
        principal=principal,
        action="incentives.statements.run",
        object_kind="month",
        object_id=body.month,
        detail=result,
        ip=client_ip(request),
    )
    return {"month": body.month, **result}


@router.get("/incentives/statements", summary="Statements, optionally for one month and/or manager")
async def list_statements(
    principal: Operators,
    session: ReadSession,
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
    manager_id: IntId | None = None,
) -> list[dict[str, Any]]:
    rows = await service.statements(
        session, manager_ids=[manager_id] if manager_id else None, month=parse_month(month) if month else None
    )
    return [service.statement_out(s) for s in rows]
