"""Organisation units (market department, support centres, branches): list, create, edit, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Strict, record
from shared.backoffice import org as org_service
from shared.backoffice.permissions import branch_scope
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import IntId, RefId

router = APIRouter(prefix="/v1", tags=["organisation"])

Kind = Literal["market_dept", "support_centre", "branch"]
CODE = r"^[A-Za-z0-9_.\-]{2,40}$"


class OrgUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    code: str
    name: str
    parent_id: int | None
    created_at: datetime


class OrgUnitIn(Strict):
    kind: Kind
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=100)
    parent_id: RefId | None = None


class OrgUnitPatch(Strict):
    code: str | None = Field(None, pattern=CODE)
    name: str | None = Field(None, min_length=1, max_length=100)
    parent_id: RefId | None = None


@router.get("/org-units", response_model=list[OrgUnitOut], summary="List org units (branch heads see their branch)")
async def list_units(principal: can("org.read"), session: ReadSession, kind: Kind | None = None) -> list[OrgUnitOut]:
    units = await org_service.list_units(session, kind=kind, only_id=branch_scope(principal))
    return [OrgUnitOut.model_validate(u) for u in units]


@router.post("/org-units", response_model=OrgUnitOut, status_code=status.HTTP_201_CREATED, summary="Create an org unit")
async def create_unit(
    body: OrgUnitIn, request: Request, principal: can("org.write"), session: WriteSession
) -> OrgUnitOut:
    unit = await org_service.create_unit(
        session, kind=body.kind, code=body.code, name=body.name, parent_id=body.parent_id
    )
    await record(session, request, principal, "org_unit.create", "org_unit", unit.id, body.model_dump())
    return OrgUnitOut.model_validate(unit)


@router.patch("/org-units/{unit_id}", response_model=OrgUnitOut, summary="Rename, recode or move an org unit")
async def update_unit(
    unit_id: IntId, body: OrgUnitPatch, request: Request, principal: can("org.write"), session: WriteSession
) -> OrgUnitOut:
    unit, changes = await org_service.update_unit(session, unit_id, **body.model_dump())
    if changes:
        await record(session, request, principal, "org_unit.update", "org_unit", unit.id, changes)
    return OrgUnitOut.model_validate(unit)


@router.delete("/org-units/{unit_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an unused org unit")
async def delete_unit(unit_id: IntId, request: Request, principal: can("org.write"), session: WriteSession) -> None:
    unit = await org_service.delete_unit(session, unit_id)
    await record(session, request, principal, "org_unit.delete", "org_unit", unit_id, {"code": unit.code})
