"""My customers: list with filters and keyset pages, the portrait, ad-hoc contacts, and
reassignment requests. Every id is scoped by `shared.auth.scoping` (out of scope → 404)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from manager_app.auth import CurrentManager
from manager_app.schemas import ContactIn, ContactOut, CustomerId, CustomerPage, ReassignmentIn, ReassignmentOut
from shared.auth import scoping
from shared.errors import Unprocessable
from shared.manager import customers as service
from shared.manager import portrait, tasks
from shared.manager.contacts import ContactInput, record_contact, short_key
from shared.models import Tier
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.render import json_response

router = APIRouter(prefix="/v1", tags=["customers"])

TierName = Literal[tuple(t.value for t in Tier)]  # type: ignore[valid-type]
Stage = Literal["exploration", "formation", "stable", "decline"]
Risk = Literal["low", "medium", "high"]
FourHigh = Literal["any", "tariff", "payg_data", "silence", "arpu_mismatch"]


@router.get("/customers", response_model=CustomerPage, summary="My customers (filters, priority sort, keyset pages)")
async def list_customers(
    principal: CurrentManager,
    session: ReadSession,
    tier: Annotated[list[TierName] | None, Query(max_length=7)] = None,
    stage: Annotated[list[Stage] | None, Query(max_length=4)] = None,
    risk: Annotated[list[Risk] | None, Query(max_length=3)] = None,
    four_high: FourHigh | None = None,
    tag: Annotated[list[str] | None, Query(max_length=10)] = None,
    min_days_since_contact: Annotated[int | None, Query(ge=0, le=3650)] = None,
    birthday_this_month: bool = False,
    q: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    sort: Literal["priority", "id"] = "priority",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    for code in tag or []:
        if not code or len(code) > 60 or not all(ch.isalnum() or ch in "_.:-" for ch in code):
            raise Unprocessable("bad tag code", tag=code[:60])
    filters = service.CustomerFilters(
        tiers=list(tier or []),
        stages=list(stage or []),
        risk_levels=list(risk or []),
        four_high=four_high,
        tags=list(tag or []),
        min_days_since_contact=min_days_since_contact,
        birthday_this_month=birthday_this_month,
        q=q,
    )
    page = await service.list_customers(session, principal, filters=filters, sort=sort, after=cursor, limit=limit)
    return json_response(page)


@router.get("/customers/{customer_id}", summary="Customer portrait")
async def get_portrait(
    customer_id: CustomerId,
    principal: CurrentManager,
    session: ReadSession,
    months: Annotated[int, Query(ge=6, le=12)] = 12,
) -> Response:
    return json_response(await portrait.build_visible(session, principal, customer_id, months=months))


@router.post("/customers/{customer_id}/contacts", response_model=ContactOut, summary="Log a contact (not from a task)")
async def log_contact(
    customer_id: CustomerId,
    body: ContactIn,
    principal: CurrentManager,
    session: WriteSession,
    key: str = IdempotencyKey,
) -> Response:
    async def handler() -> dict[str, Any]:
        customer = await scoping.get_visible_customer(session, principal, customer_id)
        contact = await record_contact(
            session,
            principal,
            customer=customer,
            data=ContactInput(**body.model_dump()),
            key=f"contact:{short_key(principal.subject, key)}",
        )
        return {
            "contact_id": contact.id,
            "touch_id": contact.touch_id,
            "subscription_id": contact.subscription_id,
            "customer_id": customer.id,
            "outcome": contact.outcome,
        }

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"c": customer_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.post(
    "/customers/{customer_id}/reassignment-requests",
    response_model=ReassignmentOut,
    status_code=201,
    summary="Ask the branch head to hand this customer to another manager",
)
async def request_reassignment(
    customer_id: CustomerId, body: ReassignmentIn, principal: CurrentManager, session: WriteSession
) -> dict[str, Any]:
    req = await tasks.request_reassignment(
        session, principal, customer_id=customer_id, reason=body.reason, task_id=body.task_id
    )
    return tasks.request_out(req)
