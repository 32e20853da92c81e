"""Staff accounts and roles: list, create, edit, deactivate, set or reset a password; the role table."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, Strict, page, record
from shared.backoffice import staff as staff_service
from shared.backoffice.permissions import PERMISSIONS, ROLES, branch_scope, check_branch, permissions_of
from shared.masking import mask_phone
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Count, IntAfter, IntId, RefId

router = APIRouter(prefix="/v1", tags=["staff"])

Role = Literal["admin", "analyst", "strategist", "operator", "branch_head", "account_manager", "hall_staff", "auditor"]
USERNAME = r"^[a-z][a-z0-9_.\-]{2,63}$"


class StaffOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    org_unit_id: int | None
    work_phone: str | None
    active: bool
    capacity: int
    assigned_customers: int = 0
    created_at: datetime


class StaffIn(Strict):
    username: str = Field(pattern=USERNAME)
    full_name: str = Field(min_length=1, max_length=100)
    role: Role
    org_unit_id: RefId | None = None
    work_phone: str | None = Field(None, pattern=r"^\d{5,20}$")
    capacity: Annotated[Count, Field(le=5000)] = 400
    password: str = Field(min_length=10, max_length=200)


class StaffPatch(Strict):
    full_name: str | None = Field(None, min_length=1, max_length=100)
    role: Role | None = None
    org_unit_id: RefId | None = None
    work_phone: str | None = Field(None, pattern=r"^\d{5,20}$")
    capacity: Annotated[Count, Field(le=5000)] | None = None
    active: bool | None = None


class PasswordIn(Strict):
    password: str = Field(min_length=10, max_length=200)


class PasswordResetOut(BaseModel):
    id: int
    temporary_password: str
    """Shown once; only its argon2id hash is stored. The user should change it at first sign-in."""


class RoleOut(BaseModel):
    role: str
    permissions: list[str]


def _out(user, load: int = 0) -> StaffOut:  # type: ignore[no-untyped-def]
    return StaffOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        org_unit_id=user.org_unit_id,
        work_phone=mask_phone(user.work_phone),
        active=user.active,
        capacity=user.capacity,
        assigned_customers=load,
        created_at=user.created_at,
    )


@router.get("/roles", response_model=list[RoleOut], summary="Every role and the permissions it holds")
async def list_roles(principal: can("staff.read")) -> list[RoleOut]:
    return [RoleOut(role=r, permissions=permissions_of(r)) for r in ROLES]


@router.get("/permissions", response_model=dict[str, list[str]], summary="Permission → roles table")
async def list_permissions(principal: can("staff.read")) -> dict[str, list[str]]:
    return {p: sorted(roles) for p, roles in PERMISSIONS.items()}


@router.get("/staff", response_model=Page[StaffOut], summary="List staff (branch heads see their branch)")
async def list_staff(
    principal: can("staff.read"),
    session: ReadSession,
    role: Role | None = None,
    org_unit_id: IntId | None = None,
    q: str | None = Query(None, max_length=64),
    active: bool | None = None,
    after: IntAfter = 0,
    limit: int = Limit,
) -> Page[StaffOut]:
    scope = branch_scope(principal)
    if scope is not None:
        org_unit_id = scope
    users = await staff_service.list_staff(
        session, role=role, org_unit_id=org_unit_id, q=q, active=active, after=after, limit=limit
    )
    loads = await staff_service.load_counts(session, [u.id for u in users])
    return page([_out(u, loads.get(u.id, 0)) for u in users], limit)


@router.get("/staff/{staff_id}", response_model=StaffOut, summary="One staff account")
async def get_staff(staff_id: IntId, principal: can("staff.read"), session: ReadSession) -> StaffOut:
    user = await staff_service.get_staff(session, staff_id)
    check_branch(principal, user.org_unit_id, what="staff user")
    loads = await staff_service.load_counts(session, [user.id])
    return _out(user, loads.get(user.id, 0))


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED, summary="Create a staff account")
async def create_staff(
    body: StaffIn, request: Request, principal: can("staff.write"), session: WriteSession
) -> StaffOut:
    user = await staff_service.create_staff(session, **body.model_dump())
    await record(
        session,
        request,
        principal,
        "staff.create",
        "staff",
        user.id,
        body.model_dump(exclude={"password", "work_phone"}),
    )
    return _out(user)


@router.patch("/staff/{staff_id}", response_model=StaffOut, summary="Edit role, branch, capacity; deactivate")
async def update_staff(
    staff_id: IntId, body: StaffPatch, request: Request, principal: can("staff.write"), session: WriteSession
) -> StaffOut:
    user, changes = await staff_service.update_staff(session, staff_id, **body.model_dump())
    if "work_phone" in changes:
        changes["work_phone"] = "changed"  # never a phone number in the audit log
    if changes:
        await record(session, request, principal, "staff.update", "staff", staff_id, changes)
    return _out(user)


@router.put("/staff/{staff_id}/password", status_code=status.HTTP_204_NO_CONTENT, summary="Set a password")
async def set_password(
    staff_id: IntId, body: PasswordIn, request: Request, principal: can("staff.write"), session: WriteSession
) -> None:
    await staff_service.set_password(session, staff_id, password=body.password)
    await record(session, request, principal, "staff.password_set", "staff", staff_id)


@router.post(
    "/staff/{staff_id}/password-reset",
    response_model=PasswordResetOut,
    summary="Reset to a random temporary password (shown once)",
)
async def reset_password(
    staff_id: IntId, request: Request, principal: can("staff.write"), session: WriteSession
) -> PasswordResetOut:
    _, temporary = await staff_service.reset_password(session, staff_id)
    await record(session, request, principal, "staff.password_reset", "staff", staff_id)
    return PasswordResetOut(id=staff_id, temporary_password=temporary)
