"""Approval of the banners alliance merchants place. (Operator banner CRUD: engagement.py, /v1/ads.)"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Strict, record
from shared.backoffice import ads as ad_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import IntId

router = APIRouter(prefix="/v1", tags=["ads"])


class MerchantAdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    merchant_id: int | None
    title: str
    body: str | None
    image_url: str | None
    link: str | None
    target_tiers: list[str]
    target_segments: list[str]
    starts_at: datetime
    ends_at: datetime
    status: str


class DecisionIn(Strict):
    reason: str | None = Field(None, max_length=300, description="kept in the audit log (required to reject)")


@router.get("/ads/merchant/pending", response_model=list[MerchantAdOut], summary="Merchant ads awaiting approval")
async def pending(principal: can("ads.approve"), session: ReadSession) -> list[MerchantAdOut]:
    return [MerchantAdOut.model_validate(a) for a in await ad_service.list_pending(session)]


@router.post("/ads/{ad_id}/approve", response_model=MerchantAdOut, summary="Approve a pending merchant ad")
async def approve(
    ad_id: IntId, request: Request, principal: can("ads.approve"), session: WriteSession, body: DecisionIn | None = None
) -> MerchantAdOut:
    ad = await ad_service.decide(session, ad_id, approve=True)
    await record(
        session,
        request,
        principal,
        "ad.approve",
        "ad",
        ad_id,
        {"merchant_id": ad.merchant_id, "reason": body.reason if body else None},
    )
    return MerchantAdOut.model_validate(ad)


@router.post("/ads/{ad_id}/reject", response_model=MerchantAdOut, summary="Reject a pending merchant ad, with a reason")
async def reject(
    ad_id: IntId, body: DecisionIn, request: Request, principal: can("ads.approve"), session: WriteSession
) -> MerchantAdOut:
    from shared.errors import Unprocessable

    if not body.reason:
        raise Unprocessable("a rejection needs a reason")
    ad = await ad_service.decide(session, ad_id, approve=False)
    await record(
        session, request, principal, "ad.reject", "ad", ad_id, {"merchant_id": ad.merchant_id, "reason": body.reason}
    )
    return MerchantAdOut.model_validate(ad)
