"""My money in and gifts received: top-ups (充值, arrears paid first) and packs merchants gave me."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from customer_app.auth import CurrentCustomer
from shared.business import payments
from shared.ledger.airtime import arrears_fen
from shared.models import AccountKind, Asset, LedgerAccount, Merchant, OperatorPack, PackGift
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import PositiveFen

router = APIRouter(prefix="/v1", tags=["wallet"])


class TopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: PositiveFen


class TopUpOut(BaseModel):
    payment_ref: str
    amount_fen: int
    to_arrears_fen: int
    to_balance_fen: int
    balance_fen: int


class GiftOut(BaseModel):
    id: int
    merchant_name: str
    pack_name: str
    asset: str
    amount: int
    received_at: datetime


class GiftsOut(BaseModel):
    data_mb_balance: int
    arrears_fen: int
    gifts: list[GiftOut]


@router.post(
    "/topups",
    response_model=TopUpOut,
    status_code=201,
    responses={409: {"description": "payment declined"}},
    summary="Top up my balance (arrears are paid off first)",
)
async def top_up(
    body: TopUpIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        done = await payments.top_up(session, customer_id=principal.id, amount_fen=body.amount_fen, key=key)
        return {
            "payment_ref": done.payment_ref,
            "amount_fen": done.amount_fen,
            "to_arrears_fen": done.to_arrears_fen,
            "to_balance_fen": done.to_balance_fen,
            "balance_fen": done.balance_fen,
        }

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "topup", **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.get("/gifts", response_model=GiftsOut, summary="Packs merchants gave me, and my gifted data balance")
async def gifts(principal: CurrentCustomer, session: ReadSession) -> dict:
    rows = (
        await session.execute(
            select(PackGift, OperatorPack, Merchant.name)
            .join(OperatorPack, OperatorPack.id == PackGift.pack_id)
            .join(Merchant, Merchant.id == PackGift.merchant_id)
            .where(PackGift.customer_id == principal.id)
            .order_by(PackGift.id.desc())
            .limit(200)
        )
    ).all()
    data = await session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.asset == Asset.DATA,
            LedgerAccount.kind == AccountKind.CUSTOMER,
            LedgerAccount.owner_id == principal.id,
        )
    )
    return {
        "data_mb_balance": int(data or 0),
        "arrears_fen": await arrears_fen(session, principal.id),
        "gifts": [
            {
                "id": g.id,
                "merchant_name": name,
                "pack_name": p.name,
                "asset": p.asset,
                "amount": int(p.amount),
                "received_at": g.created_at,
            }
            for g, p, name in rows
        ],
    }
