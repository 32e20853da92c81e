"""Operator packs: a merchant buys them from its prepaid account and gifts them to subscribers."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from alliance_app.auth import CurrentMerchant
from shared.alliance import packs as pack_service
from shared.masking import mask_phone
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id, IntId

router = APIRouter(prefix="/v1", tags=["packs"])
ERRORS = {
    402: {"description": "prepaid balance or alliance budget too low"},
    404: {"description": "not found"},
    409: {"description": "key reused"},
}


class PackOut(BaseModel):
    id: int
    code: str
    name: str
    asset: str
    amount: int
    price_fen: int


class PrepaidOut(BaseModel):
    balance_fen: int


class GiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="the member's mobile number (one of our subscribers)")


class GiftOut(BaseModel):
    gift_id: int
    pack_code: str
    asset: str
    amount: int
    price_fen: int
    phone_masked: str | None
    created_at: datetime


@router.get("/packs", response_model=list[PackOut], summary="Operator packs on sale")
async def list_packs(principal: CurrentMerchant, session: ReadSession) -> list[PackOut]:
    return [
        PackOut(id=p.id, code=p.code, name=p.name, asset=p.asset, amount=p.amount, price_fen=p.price_fen)
        for p in await pack_service.list_packs(session)
    ]


@router.get("/prepaid", response_model=PrepaidOut, summary="This merchant's prepaid balance")
async def prepaid(principal: CurrentMerchant, session: ReadSession) -> PrepaidOut:
    return PrepaidOut(balance_fen=await pack_service.prepaid_balance(session, principal.id))


@router.post(
    "/packs/{pack_id}/gifts",
    status_code=status.HTTP_201_CREATED,
    response_model=GiftOut,
    responses=ERRORS,
    summary="Buy a pack from prepaid funds and gift it to a subscriber",
)
async def gift(
    pack_id: IntId, body: GiftIn, principal: CurrentMerchant, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> GiftOut:
        done = await pack_service.gift_pack(
            session, merchant_id=principal.id, pack_id=pack_id, phone=body.phone, request_key=key
        )
        return GiftOut(
            gift_id=done.gift.id,
            pack_code=done.pack.code,
            asset=done.pack.asset,
            amount=done.pack.amount,
            price_fen=done.gift.price_fen,
            phone_masked=mask_phone(done.phone),
            created_at=done.gift.created_at,
        )

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"pack": pack_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.get("/gifts", response_model=list[GiftOut], summary="Packs this merchant gifted, newest first")
async def list_gifts(
    principal: CurrentMerchant,
    session: ReadSession,
    before_id: Id | None = None,
    limit: int = Query(50, ge=1, le=100),
) -> list[GiftOut]:
    rows = await pack_service.list_gifts(session, merchant_id=principal.id, before_id=before_id, limit=limit)
    return [
        GiftOut(
            gift_id=g.id,
            pack_code=p.code,
            asset=p.asset,
            amount=p.amount,
            price_fen=g.price_fen,
            phone_masked=mask_phone(ph),
            created_at=g.created_at,
        )
        for g, p, ph in rows
    ]
