"""Account queries for the signed-in customer only: summary, usage, bills, manager, contacts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from customer_app.auth import CurrentCustomer
from shared import clock
from shared.business import account as account_service
from shared.errors import NotFound
from shared.masking import mask_name, mask_phone
from shared.web.deps import ReadSession
from shared.web.params import MONTH, first_of_month
from shared.web.render import json_response

router = APIRouter(prefix="/v1", tags=["account"])


class PlanOut(BaseModel):
    id: int
    code: str
    name: str
    monthly_fee_fen: int
    data_mb: int
    voice_min: int
    sms: int


class ActiveAddon(BaseModel):
    id: int
    product_name: str
    kind: str
    starts_on: date
    ends_on: date | None


class Expiring(BaseModel):
    expires_on: date | None
    points: int


class AccountOut(BaseModel):
    name: str
    phone: str
    tier: str
    tier_benefits: list[Any]
    status: str
    join_date: date
    tenure_months: int
    plan: PlanOut | None
    addons: list[ActiveAddon]
    balance_fen: int
    points: int
    points_expiring_next: Expiring | None


class UsageOut(BaseModel):
    month: date
    data: dict[str, int]
    voice: dict[str, int]
    sms: dict[str, int]
    payg_data_fen: int
    roaming_fen: int
    long_distance_fen: int
    broadband_gb: int


class BillLine(BaseModel):
    item: str
    amount_fen: int


class BillOut(BaseModel):
    month: date
    total_fen: int
    lines: list[BillLine]
    topup_fen: int
    balance_end_fen: int


class ManagerOut(BaseModel):
    assigned: bool
    name: str | None = None
    work_phone: str | None = None
    branch: str | None = None


class ContactOut(BaseModel):
    id: int
    channel: str
    occurred_at: datetime
    outcome: str
    product_name: str | None
    by_staff: bool


@router.get("/account", response_model=AccountOut, summary="My account at a glance (masked)")
async def summary(principal: CurrentCustomer, session: ReadSession) -> Response:
    found = await account_service.summary(session, principal.id)
    if found is None:
        raise NotFound("customer not found")
    today, joined = clock.today(), found["join_date"]
    return json_response(
        {
            **found,
            "name": mask_name(found["name"]) or "",
            "phone": mask_phone(found["phone"]) or "",
            "tenure_months": (today.year - joined.year) * 12 + today.month - joined.month,
        }
    )


@router.get(
    "/account/usage", response_model=UsageOut, responses={404: {}}, summary="This month's usage against my allowances"
)
async def usage(
    principal: CurrentCustomer, session: ReadSession, month: str | None = Query(None, pattern=MONTH)
) -> dict:
    found = await account_service.usage(
        session, principal.id, month=first_of_month(month) if month else clock.today().replace(day=1)
    )
    if found is None:
        raise NotFound("no usage recorded yet")
    return found


@router.get("/account/bills", response_model=list[BillOut], summary="My recent bills with their lines")
async def bills(principal: CurrentCustomer, session: ReadSession, months: int = Query(6, ge=1, le=24)) -> list[dict]:
    return await account_service.bills(session, principal.id, months=months)


@router.get("/account/bills/{month}", response_model=BillOut, responses={404: {}}, summary="One month's bill")
async def bill(principal: CurrentCustomer, session: ReadSession, month: str = Path(pattern=MONTH)) -> dict:
    found = await account_service.bill(session, principal.id, month=first_of_month(month))
    if found is None:
        raise NotFound("no bill for that month")
    return found


@router.get("/account/manager", response_model=ManagerOut, summary="My account manager")
async def manager(principal: CurrentCustomer, session: ReadSession) -> dict:
    m = await account_service.account_manager(session, principal.id)
    if m is None:
        return {"assigned": False}
    return {"assigned": True, "name": m["full_name"], "work_phone": m["work_phone"], "branch": m["branch"]}


@router.get("/account/contacts", response_model=list[ContactOut], summary="Contacts with me I may see")
async def contacts(
    principal: CurrentCustomer, session: ReadSession, limit: int = Query(50, ge=1, le=200)
) -> list[dict]:
    return await account_service.contact_history(session, principal.id, limit=limit)
