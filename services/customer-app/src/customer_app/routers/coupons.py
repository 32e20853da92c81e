"""The coupon market: approved partner offers this customer qualifies for, exchange, my coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from customer_app.auth import CurrentCustomer
from shared.alliance import coupons as coupon_service
from shared.alliance import offers as offer_service
from shared.models import Coupon, Offer
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id, IntAfter, IntId

router = APIRouter(prefix="/v1", tags=["coupons"])
ERRORS = {
    402: {"description": "not enough points or airtime"},
    404: {"description": "offer not available to you"},
    409: {"description": "sold out, limit reached, or key reused"},
}


class MarketOfferOut(BaseModel):
    id: int
    merchant_name: str
    title: str
    kind: str
    description: str | None
    face_value_fen: int
    price_points: int
    price_airtime_fen: int
    stock_left: int
    per_customer_limit: int
    valid_to: datetime
    coupon_valid_days: int

    @classmethod
    def of(cls, o: Offer, merchant_name: str) -> MarketOfferOut:
        return cls(
            id=o.id,
            merchant_name=merchant_name,
            title=o.title,
            kind=o.kind,
            description=o.description,
            face_value_fen=o.face_value_fen,
            price_points=o.price_points,
            price_airtime_fen=o.price_airtime_fen,
            stock_left=o.stock_left,
            per_customer_limit=o.per_customer_limit,
            valid_to=o.valid_to,
            coupon_valid_days=o.coupon_valid_days,
        )


class ExchangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pay_with: Literal["points", "airtime"] = "points"


class CouponOut(BaseModel):
    id: int
    offer_id: int
    merchant_name: str
    title: str
    kind: str
    face_value_fen: int
    code: str
    qr_payload: str
    state: str
    paid_points: int
    paid_airtime_fen: int
    source: str
    expires_at: datetime
    redeemed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: Coupon, o: Offer, merchant_name: str) -> CouponOut:
        code = coupon_service.code_of(c)  # unsealed for its owner only; the database holds no plain code
        return cls(
            id=c.id,
            offer_id=o.id,
            merchant_name=merchant_name,
            title=o.title,
            kind=o.kind,
            face_value_fen=o.face_value_fen,
            code=code,
            qr_payload=coupon_service.qr_payload(code),
            state=coupon_service.display_state(c),
            paid_points=c.paid_points,
            paid_airtime_fen=c.paid_airtime_fen,
            source=c.source,
            expires_at=c.expires_at,
            redeemed_at=c.redeemed_at,
            created_at=c.created_at,
        )


@router.get(
    "/coupons/offers",
    response_model=list[MarketOfferOut],
    summary="Partner offers I can exchange now (approved, in stock, targeted at me)",
)
async def list_market(
    principal: CurrentCustomer,
    session: ReadSession,
    after_id: IntAfter = 0,
    limit: int = Query(20, ge=1, le=100),
) -> list[MarketOfferOut]:
    rows = await offer_service.list_for_customer(session, customer_id=principal.id, after_id=after_id, limit=limit)
    return [MarketOfferOut.of(o, name) for o, name in rows]


@router.get("/coupons/offers/{offer_id}", response_model=MarketOfferOut, responses=ERRORS, summary="One market offer")
async def get_market_offer(offer_id: IntId, principal: CurrentCustomer, session: ReadSession) -> MarketOfferOut:
    offer, name = await offer_service.get_for_customer(session, customer_id=principal.id, offer_id=offer_id)
    return MarketOfferOut.of(offer, name)


@router.post(
    "/coupons/offers/{offer_id}/exchange",
    status_code=status.HTTP_201_CREATED,
    response_model=CouponOut,
    responses=ERRORS,
    summary="Exchange points or airtime for a coupon",
)
async def exchange(
    offer_id: IntId, body: ExchangeIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> CouponOut:
        coupon = await coupon_service.exchange(
            session, offer_id=offer_id, customer_id=principal.id, key=key, pay_with=body.pay_with
        )
        c, o, name = await coupon_service.get_for_customer(session, customer_id=principal.id, coupon_id=coupon.id)
        return CouponOut.of(c, o, name)

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"offer": offer_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.get("/coupons", response_model=list[CouponOut], summary="My coupons, newest first")
async def my_coupons(
    principal: CurrentCustomer,
    session: ReadSession,
    state: str | None = Query(None, pattern="^(issued|redeemed|expired|void)$"),
    before_id: Id | None = None,
    limit: int = Query(20, ge=1, le=100),
) -> list[CouponOut]:
    rows = await coupon_service.list_for_customer(
        session, customer_id=principal.id, state=state, before_id=before_id, limit=limit
    )
    return [CouponOut.of(c, o, n) for c, o, n in rows]


@router.get("/coupons/{coupon_id}", response_model=CouponOut, responses=ERRORS, summary="One of my coupons")
async def my_coupon(coupon_id: Id, principal: CurrentCustomer, session: ReadSession) -> CouponOut:
    c, o, n = await coupon_service.get_for_customer(session, customer_id=principal.id, coupon_id=coupon_id)
    return CouponOut.of(c, o, n)
