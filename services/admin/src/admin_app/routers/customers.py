"""Customer 360 for the back office: search, and one customer's profile, tags, usage trend,
touches, tasks, subscriptions and complaints (read by `shared.manager.customer360`).

Personal data is masked unless `unmask=true`, which only roles holding `customers.unmask` may ask
for and which writes an audit row (who, which customer, when, from where) in the same
transaction as the read. Branch heads see only their branch's customers (others are 404).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import or_, select

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, page, record
from shared.backoffice.permissions import allows, branch_scope, check_branch
from shared.errors import Forbidden, NotFound
from shared.manager import customer360
from shared.masking import mask_name, mask_phone
from shared.models import Customer
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import After, Id, IntId

router = APIRouter(prefix="/v1", tags=["customers"])


class CustomerRow(BaseModel):
    id: int
    name: str | None
    phone: str | None
    tier: str
    status: str
    branch_id: int | None
    join_date: date


class Customer360(BaseModel):
    id: int
    unmasked: bool
    name: str | None
    phone: str | None
    id_number: str | None
    email: str | None
    address: str | None
    gender: str | None
    birthday: date | None
    tier: str
    status: str
    churned_on: date | None
    join_date: date
    tenure_months: int
    branch: dict[str, Any] | None
    plan: dict[str, Any] | None
    contract_end: date | None
    do_not_disturb: bool
    manager: dict[str, Any] | None
    profile: dict[str, Any] | None
    tags: list[dict[str, Any]]
    usage_trend: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    touches: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    handset: dict[str, Any] | None


@router.get(
    "/customers",
    response_model=Page[CustomerRow],
    summary="Search customers by full phone, last 4 digits or name (always masked)",
)
async def search(
    principal: can("customers.read"),
    session: ReadSession,
    q: str | None = Query(None, min_length=1, max_length=40),
    tier: str | None = Query(None, max_length=12),
    branch_id: IntId | None = None,
    after: After = 0,
    limit: int = Limit,
) -> Page[CustomerRow]:
    stmt = select(Customer).where(Customer.id > after).order_by(Customer.id).limit(limit)
    scope = branch_scope(principal)
    if scope is not None:
        stmt = stmt.where(Customer.branch_id == scope)
    elif branch_id is not None:
        stmt = stmt.where(Customer.branch_id == branch_id)
    if tier:
        stmt = stmt.where(Customer.tier == tier)
    if q:
        q = q.strip()
        if q.isdigit() and len(q) == 11:
            stmt = stmt.where(Customer.phone == q)
        elif q.isdigit() and len(q) == 4:
            stmt = stmt.where(Customer.phone_last4 == q)
        elif q.isdigit():
            stmt = stmt.where(or_(Customer.id == int(q), Customer.phone.startswith(q)))
        else:
            stmt = stmt.where(Customer.name.startswith(q.replace("%", "").replace("_", "")))
    rows = (await session.scalars(stmt)).all()
    return page(
        [
            CustomerRow(
                id=c.id,
                name=mask_name(c.name),
                phone=mask_phone(c.phone),
                tier=c.tier,
                status=c.status,
                branch_id=c.branch_id,
                join_date=c.join_date,
            )
            for c in rows
        ],
        limit,
    )


@router.get(
    "/customers/{customer_id}", response_model=Customer360, summary="Customer 360 (unmask=true: admin only, audited)"
)
async def customer_360(
    customer_id: Id,
    request: Request,
    principal: can("customers.read"),
    session: WriteSession,
    unmask: bool = False,
) -> Customer360:
    if unmask and not allows(principal, "customers.unmask"):
        raise Forbidden("your role may not see unmasked personal data", role=principal.role)
    c = await session.get(Customer, customer_id)
    if c is None:
        raise NotFound("customer not found")
    check_branch(principal, c.branch_id, what="customer")
    if unmask:
        await record(
            session,
            request,
            principal,
            "customer.unmask",
            "customer",
            customer_id,
            {"fields": list(customer360.UNMASKABLE)},
        )
    return Customer360(**await customer360.backoffice_view(session, c, unmask=unmask))
