"""The till: verify a code, redeem it exactly once, list and reverse redemptions.

Refused codes (unknown, expired, used, another merchant's) get one byte-identical 404 and count
against this merchant's per-minute budget (429 beyond it); the real reason is only logged. The
budget slot is reserved before the code is looked at (see `redemption.guess_budget`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from alliance_app.auth import CurrentMerchant
from alliance_app.egress import webhook_egress
from shared.alliance import redemption as till
from shared.alliance import webhooks
from shared.db.transactions import own_transaction
from shared.models import Offer, Redemption
from shared.web.deps import AppSettings, ReadSession, SessionMaker, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id, RefId

router = APIRouter(prefix="/v1", tags=["till"])

CODE_PATTERN = r"^[A-Za-z0-9 :\-]{8,60}$"
REFUSALS = {
    404: {"description": "coupon not redeemable here (one answer for every reason)"},
    409: {"description": "already redeemed / key reused"},
    429: {"description": "too many refused codes this minute"},
}


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE_PATTERN, description="the code or the scanned QR payload")


class RedeemIn(CodeIn):
    store_id: RefId | None = None


class VerifyOut(BaseModel):
    coupon_id: int
    offer_id: int
    title: str
    kind: str
    face_value_fen: int
    expires_at: datetime
    customer_phone_masked: str | None


class RedemptionOut(BaseModel):
    redemption_id: int
    coupon_id: int
    offer_id: int
    title: str
    face_value_fen: int
    settlement_fen: int
    store_id: int | None
    redeemed_at: datetime
    reversed_at: datetime | None

    @classmethod
    def of(cls, r: Redemption, o: Offer) -> RedemptionOut:
        return cls(
            redemption_id=r.id,
            coupon_id=r.coupon_id,
            offer_id=o.id,
            title=o.title,
            face_value_fen=o.face_value_fen,
            settlement_fen=r.settlement_fen,
            store_id=r.store_id,
            redeemed_at=r.created_at,
            reversed_at=r.reversed_at,
        )


@router.post(
    "/coupons/verify",
    response_model=VerifyOut,
    responses=REFUSALS,
    summary="What a code is worth (masked phone only); changes nothing",
)
async def verify(body: CodeIn, principal: CurrentMerchant, sm: SessionMaker, settings: AppSettings) -> VerifyOut:
    # the budget wraps the request's own session, which is closed before a refusal is counted
    async with till.guess_budget(sm, settings, merchant_id=principal.id, code=body.code), sm() as session:
        view = await till.verify(session, merchant_id=principal.id, code=body.code)
    return VerifyOut(**asdict(view))


@router.post(
    "/coupons/redeem",
    response_model=RedemptionOut,
    responses=REFUSALS,
    summary="Redeem a code once; the Idempotency-Key is the till's request key",
)
async def redeem(
    body: RedeemIn,
    request: Request,
    background: BackgroundTasks,
    principal: CurrentMerchant,
    sm: SessionMaker,
    settings: AppSettings,
    key: str = IdempotencyKey,
) -> Response:
    notify: list[bool] = []
    async with (
        till.guess_budget(sm, settings, merchant_id=principal.id, code=body.code),
        # one explicit unit of work, committed here before the response is returned, so that a
        # refusal can still be counted (in its own transaction) after this one rolled back
        own_transaction(sm) as session,
    ):

        async def handler() -> RedemptionOut:
            done = await till.redeem(
                session, merchant_id=principal.id, code=body.code, request_key=key, store_id=body.store_id
            )
            notify.append(done.notify)
            return RedemptionOut.of(done.redemption, done.offer)

        response = await run_once(session, principal=principal, key=key, payload=body, handler=handler)
    if any(notify):
        background.add_task(webhooks.deliver_soon, sm, merchant_id=principal.id, **webhook_egress(request))
    return response


@router.get("/redemptions", response_model=list[RedemptionOut], summary="This merchant's redemptions, newest first")
async def list_redemptions(
    principal: CurrentMerchant,
    session: ReadSession,
    before_id: Id | None = None,
    limit: int = Query(50, ge=1, le=100),
) -> list[RedemptionOut]:
    rows = await till.list_own(session, merchant_id=principal.id, before_id=before_id, limit=limit)
    return [RedemptionOut.of(r, o) for r, o in rows]


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut, responses=REFUSALS, summary="One redemption")
async def get_redemption(redemption_id: Id, principal: CurrentMerchant, session: ReadSession) -> RedemptionOut:
    r, o = await till.get_own(session, merchant_id=principal.id, redemption_id=redemption_id)
    return RedemptionOut.of(r, o)


@router.post(
    "/redemptions/{redemption_id}/reverse",
    response_model=RedemptionOut,
    responses=REFUSALS,
    summary="Undo a redemption within the reversal window; the coupon is live again",
)
async def reverse(
    redemption_id: Id,
    request: Request,
    background: BackgroundTasks,
    principal: CurrentMerchant,
    session: WriteSession,
    sm: SessionMaker,
    key: str = IdempotencyKey,
):
    async def handler() -> RedemptionOut:
        await till.reverse(session, merchant_id=principal.id, redemption_id=redemption_id, key=key)
        r, o = await till.get_own(session, merchant_id=principal.id, redemption_id=redemption_id)
        return RedemptionOut.of(r, o)

    response = await run_once(
        session, principal=principal, key=key, payload={"reverse": redemption_id}, handler=handler
    )
    background.add_task(webhooks.deliver_soon, sm, merchant_id=principal.id, **webhook_egress(request))
    return response
