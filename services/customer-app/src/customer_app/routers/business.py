"""Business handling: the add-on catalogue I am eligible for, my subscriptions, order, cancel."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from customer_app.auth import CurrentCustomer
from shared import clock
from shared.business import account as account_service
from shared.business import contracts as contract_service
from shared.business import orders as order_service
from shared.business import plan_change
from shared.errors import NotFound
from shared.models import Subscription
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id, RefId

router = APIRouter(prefix="/v1", tags=["business"])
KIND_PATTERN = r"^(data_pack|voice_pack|contract|recharge_bonus|broadband|family|membership)$"


class CatalogueItem(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    monthly_fee_fen: int
    one_time_fee_fen: int
    charge_now_fen: int
    data_mb: int
    voice_min: int
    sms: int
    duration_months: int | None
    selling_points: str | None
    starts_on: date
    ends_on: date | None


class SubscriptionOut(BaseModel):
    id: int
    product_id: int
    status: str
    starts_on: date
    ends_on: date | None
    channel: str
    charge_fen: int
    cancelled_at: datetime | None = None


class MySubscription(SubscriptionOut):
    product_code: str
    product_name: str
    kind: str


class Instalment(BaseModel):
    seq: int
    due_month: date
    amount_fen: int
    status: str  # pending / paid / forfeited


class NextInstalment(BaseModel):
    seq: int
    due_month: date
    amount_fen: int


class ContractOut(BaseModel):
    subscription_id: int
    product_id: int
    product_name: str
    kind: str
    status: str
    starts_on: date
    ends_on: date | None
    charge_fen: int
    instalments: int
    paid_count: int
    paid_fen: int
    remaining_count: int
    remaining_fen: int
    forfeited_fen: int
    next: NextInstalment | None
    schedule: list[Instalment]


class PlanChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: RefId


class PlanChangeOut(BaseModel):
    id: int
    from_plan_id: int | None
    to_plan_id: int
    direction: str  # upgrade / downgrade
    effective_at: datetime
    immediate: bool
    channel: str | None
    status: str  # applied / scheduled (from the 1st of next month) / cancelled


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: RefId


def sub_out(s: Subscription) -> dict:
    return {
        "id": s.id,
        "product_id": s.product_id,
        "status": s.status,
        "starts_on": s.starts_on,
        "ends_on": s.ends_on,
        "channel": s.channel,
        "charge_fen": s.charge_fen,
        "cancelled_at": s.cancelled_at,
    }


@router.get("/catalogue", response_model=list[CatalogueItem], summary="Add-ons I can order now")
async def catalogue(
    principal: CurrentCustomer, session: ReadSession, kind: str | None = Query(None, pattern=KIND_PATTERN)
) -> list[dict]:
    customer = await account_service.customer(session, principal.id)
    if customer is None:
        raise NotFound("customer not found")
    return await account_service.catalogue(session, customer, today=clock.today(), kind=kind)


@router.get("/subscriptions", response_model=list[MySubscription], summary="My add-ons")
async def subscriptions(
    principal: CurrentCustomer, session: ReadSession, status: str = Query("active", pattern=r"^(active|all)$")
) -> list[dict]:
    return await account_service.subscriptions(session, principal.id, active_only=status == "active")


@router.get("/contracts", response_model=list[ContractOut], summary="My rebate contracts: paid, next, remaining")
async def contracts(principal: CurrentCustomer, session: ReadSession) -> list[dict]:
    return await contract_service.schedules_of(session, principal.id)


@router.post(
    "/plan-changes",
    response_model=PlanChangeOut,
    status_code=201,
    responses={404: {}, 409: {"description": "not eligible (e.g. downgrade in a minimum term)"}},
    summary="Change my plan (upgrade now or next month, downgrade next month)",
)
async def change_plan(
    body: PlanChangeIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        return await plan_change.change_plan(
            session, customer_id=principal.id, to_plan_id=body.plan_id, key=key, channel="app"
        )

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "plan_change", **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.post(
    "/plan-changes/{plan_change_id}/cancel",
    response_model=PlanChangeOut,
    responses={404: {}, 409: {"description": "the change has already taken effect"}},
    summary="Withdraw my plan change before its month starts (a repeat returns it)",
)
async def cancel_plan_change(principal: CurrentCustomer, session: WriteSession, plan_change_id: Id) -> dict:
    return await plan_change.cancel(session, customer_id=principal.id, change_id=plan_change_id)


@router.post(
    "/orders",
    response_model=SubscriptionOut,
    status_code=201,
    responses={402: {"description": "balance too low"}, 404: {}, 409: {"description": "not eligible"}},
    summary="Order an add-on (charged to my balance where the product says so)",
)
async def order(
    body: OrderIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        sub = await order_service.place_order(
            session, customer_id=principal.id, product_id=body.product_id, key=key, channel="app"
        )
        return sub_out(sub)

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "order", **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    response_model=SubscriptionOut,
    responses={
        402: {"description": "balance too low for the early-termination fee"},
        404: {},
        409: {"description": "minimum term not reached"},
    },
    summary="Cancel one of my add-ons (a contract follows its terms)",
)
async def cancel(
    principal: CurrentCustomer, session: WriteSession, subscription_id: Id, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        sub = await order_service.cancel_order(
            session, customer_id=principal.id, subscription_id=subscription_id, key=key
        )
        return sub_out(sub)

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "cancel", "subscription_id": subscription_id},
        handler=handler,
    )
