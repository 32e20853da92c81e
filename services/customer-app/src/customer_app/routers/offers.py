"""Offers matched to me by the retention engine (accept / dismiss = a touch), and banners."""
from __future__ import annotations

from datetime import datetime

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
    expires_at: datetime | None
    created_at: datetime


class AnswerOut(BaseModel):
    id: int
    status: str
    product_id: int | None
    responded_at: datetime | None


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
        rec = await offer_service.respond(session, customer_id=principal.id, recommendation_id=rec_id, answer=answer,
                                          now=offer_service.utcnow())
        return {"id": rec.id, "status": rec.status, "product_id": rec.product_id, "responded_at": rec.responded_at}

    return await run_once(session, principal=principal, key=key, payload={"op": answer, "id": rec_id}, handler=handler)


@router.post("/recommendations/{rec_id}/accept", response_model=AnswerOut, responses={404: {}, 409: {}},
             summary="Accept an offer (recorded as a touch)")
async def accept(principal: CurrentCustomer, session: WriteSession, rec_id: Id,
                 key: str = IdempotencyKey) -> Response:
    return await _answer(principal, session, rec_id, "accept", key)


@router.post("/recommendations/{rec_id}/dismiss", response_model=AnswerOut, responses={404: {}, 409: {}},
             summary="Dismiss an offer (recorded as a touch)")
async def dismiss(principal: CurrentCustomer, session: WriteSession, rec_id: Id,
                  key: str = IdempotencyKey) -> Response:
    return await _answer(principal, session, rec_id, "dismiss", key)


@router.get("/ads", response_model=list[AdOut], summary="Banners for me")
async def ads(principal: CurrentCustomer, session: ReadSession) -> list[dict]:
    return await offer_service.ads_for(session, principal.id, now=offer_service.utcnow())
