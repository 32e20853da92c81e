"""A merchant's own offers: publish (pending back-office approval), read, restock, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from alliance_app.auth import CurrentMerchant
from shared.alliance import offers as offer_service
from shared.alliance import onboarding
from shared.models import Offer, Tier
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Count, Fen, IntAfter, IntId, Points

router = APIRouter(prefix="/v1", tags=["offers"])

OfferKind = Literal["discount", "voucher", "free_item", "membership"]
TierName = Literal[tuple(t.value for t in Tier)]  # type: ignore[valid-type]
ERRORS = {404: {"description": "not found"}, 409: {"description": "conflict"}, 422: {"description": "invalid"}}


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=2, max_length=120)
    kind: OfferKind
    description: str | None = Field(default=None, max_length=2000)
    face_value_fen: Fen
    settlement_fen: Fen = Field(description="paid by the operator per redemption; at most face_value_fen")
    price_points: Points = 0
    price_airtime_fen: Fen = 0
    stock_total: Annotated[Count, Field(ge=1)]
    per_customer_limit: Annotated[Count, Field(ge=1, le=100)] = 1
    valid_from: datetime
    valid_to: datetime
    coupon_valid_days: Annotated[Count, Field(ge=1, le=365)] = 30
    target_tiers: list[TierName] = Field(default_factory=list, max_length=7)  # type: ignore[valid-type]
    target_segments: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _window(self) -> OfferIn:
        if self.valid_from.tzinfo is None or self.valid_to.tzinfo is None:
            raise ValueError("valid_from and valid_to need a time zone offset")
        if self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if any(not (1 <= len(s) <= 30) for s in self.target_segments):
            raise ValueError("segment names are 1-30 characters")
        return self


class OfferOut(BaseModel):
    id: int
    title: str
    kind: str
    description: str | None
    face_value_fen: int
    settlement_fen: int
    price_points: int
    price_airtime_fen: int
    stock_total: int
    stock_left: int
    per_customer_limit: int
    valid_from: datetime
    valid_to: datetime
    coupon_valid_days: int
    target_tiers: list[str]
    target_segments: list[str]
    status: str

    @classmethod
    def of(cls, o: Offer) -> OfferOut:
        return cls.model_validate(o, from_attributes=True)


class StockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] = Field(
        description="units to add (negative withdraws unsold stock)"
    )

    @model_validator(mode="after")
    def _non_zero(self) -> StockIn:
        if self.delta == 0:
            raise ValueError("delta must not be zero")
        return self


@router.post(
    "/offers",
    status_code=status.HTTP_201_CREATED,
    response_model=OfferOut,
    responses=ERRORS,
    summary="Publish an offer (pending until the back office approves it)",
)
async def publish(body: OfferIn, principal: CurrentMerchant, session: WriteSession, key: str = IdempotencyKey):
    async def handler() -> OfferOut:
        await onboarding.ensure_active(session, principal.id)
        offer = await offer_service.publish(
            session, merchant_id=principal.id, data=offer_service.OfferIn(**body.model_dump())
        )
        return OfferOut.of(offer)

    return await run_once(session, principal=principal, key=key, payload=body, handler=handler, status_code=201)


@router.get("/offers", response_model=list[OfferOut], summary="This merchant's offers")
async def list_offers(
    principal: CurrentMerchant,
    session: ReadSession,
    status_: str | None = Query(None, alias="status", pattern="^(pending|approved|rejected|ended)$"),
    after_id: IntAfter = 0,
    limit: int = Query(50, ge=1, le=100),
) -> list[OfferOut]:
    rows = await offer_service.list_own(
        session, merchant_id=principal.id, status=status_, after_id=after_id, limit=limit
    )
    return [OfferOut.of(o) for o in rows]


@router.get("/offers/{offer_id}", response_model=OfferOut, responses=ERRORS, summary="One of this merchant's offers")
async def get_offer(offer_id: IntId, principal: CurrentMerchant, session: ReadSession) -> OfferOut:
    return OfferOut.of(await offer_service.get_own(session, merchant_id=principal.id, offer_id=offer_id))


@router.post(
    "/offers/{offer_id}/stock",
    response_model=OfferOut,
    responses=ERRORS,
    summary="Add or withdraw stock (never below zero)",
)
async def adjust_stock(
    offer_id: IntId, body: StockIn, principal: CurrentMerchant, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> OfferOut:
        await onboarding.ensure_active(session, principal.id)
        offer = await offer_service.adjust_stock(session, merchant_id=principal.id, offer_id=offer_id, delta=body.delta)
        return OfferOut.of(offer)

    return await run_once(
        session, principal=principal, key=key, payload={"offer": offer_id, **body.model_dump()}, handler=handler
    )


@router.post(
    "/offers/{offer_id}/withdraw",
    response_model=OfferOut,
    responses=ERRORS,
    summary="Close the offer; coupons already sold stay valid",
)
async def withdraw(offer_id: IntId, principal: CurrentMerchant, session: WriteSession, key: str = IdempotencyKey):
    async def handler() -> OfferOut:
        return OfferOut.of(await offer_service.withdraw(session, merchant_id=principal.id, offer_id=offer_id))

    return await run_once(session, principal=principal, key=key, payload={"withdraw": offer_id}, handler=handler)
