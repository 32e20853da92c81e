"""Offers matched to me (accept = the order, or a hand-off to my manager; dismiss; each a touch), and banners."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from customer_app.auth import CurrentCustomer
from shared.engagement import offers as offer_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id

router = APIRouter(prefix="/v1", tags=["offers"])


class RecommendationOut(BaseModel):
    id: int
    product_id: int | None
    product_name: str | None
    product_kind: str | None
    monthly_fee_fen: int | None
    selling_points: str | None
    reason: str | None
    purpose: str
    """retention · four_high · cross_sell: at most one offer of each, the same one on every channel"""
    expires_at: datetime | None
    created_at: datetime


class OrderPlaced(BaseModel):
    subscription_id: int
    product_id: int
    charge_fen: int
    starts_on: date
    ends_on: date | None


class AnswerOut(BaseModel):
    id: int
    status: str
    product_id: int | None
    responded_at: datetime | None
    result: str
    """ordered (the order below was placed) · handed_to_manager (the product needs a signature: your
    account manager will contact you) · noted (an offer without a product) · dismissed"""
    order: OrderPlaced | None = None
    task_id: int | None = None


class AdOut(BaseModel):
    id: int
    title: str
    body: str | None
    image_url: str | None
    link: str | None


@router.get("/recommendations", response_model=list[RecommendationOut], summary="Offers made for me")
async def recommendations(principal: CurrentCustomer, session: ReadSession) -> list[dict]:
    return await offer_service.open_recommendations(session, principal.id, now=offer_service.utcnow())


async def _answer(principal, session, rec_id: int, answer: str, key: str) -> Response:  # type: ignore[no-untyped-def]
    async def handler() -> dict:
        out = await offer_service.respond(
            session, customer_id=principal.id, recommendation_id=rec_id, answer=answer, now=offer_service.utcnow()
        )
        rec, sub = out.recommendation, out.subscription
        order = (
            None
            if sub is None
            else {
                "subscription_id": sub.id,
                "product_id": sub.product_id,
                "charge_fen": sub.charge_fen,
                "starts_on": sub.starts_on,
                "ends_on": sub.ends_on,
            }
        )
        return {
            "id": rec.id,
            "status": rec.status,
            "product_id": rec.product_id,
            "responded_at": rec.responded_at,
            "result": out.result,
            "order": order,
            "task_id": out.task_id,
        }

    return await run_once(session, principal=principal, key=key, payload={"op": answer, "id": rec_id}, handler=handler)


@router.post(
    "/recommendations/{rec_id}/accept",
    response_model=AnswerOut,
    responses={402: {"description": "balance too low"}, 404: {}, 409: {"description": "not eligible"}},
    summary="Accept an offer: places the order (as POST /v1/orders) or hands it to your account manager",
)
async def accept(principal: CurrentCustomer, session: WriteSession, rec_id: Id, key: str = IdempotencyKey) -> Response:
    return await _answer(principal, session, rec_id, "accept", key)


@router.post(
    "/recommendations/{rec_id}/dismiss",
    response_model=AnswerOut,
    responses={404: {}, 409: {}},
    summary="Dismiss an offer (recorded as a touch)",
)
async def dismiss(principal: CurrentCustomer, session: WriteSession, rec_id: Id, key: str = IdempotencyKey) -> Response:
    return await _answer(principal, session, rec_id, "dismiss", key)


@router.get("/ads", response_model=list[AdOut], summary="Banners for me")
async def ads(principal: CurrentCustomer, session: ReadSession) -> list[dict]:
    return await offer_service.ads_for(session, principal.id, now=offer_service.utcnow())
