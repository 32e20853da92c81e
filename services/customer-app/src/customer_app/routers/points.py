"""My points: balance, what expires soonest and when, history, exchange for airtime."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from customer_app.auth import CurrentCustomer
from shared.points import service as points_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Id, Points
from shared.web.render import json_response

router = APIRouter(prefix="/v1", tags=["points"])


class ExpiringOut(BaseModel):
    expires_on: date | None
    points: int


class PointsOut(BaseModel):
    balance: int
    expiring: list[ExpiringOut]
    next_expiry: ExpiringOut | None


class EntryOut(BaseModel):
    id: int
    amount: int
    kind: str
    expires_on: date | None
    created_at: datetime


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Annotated[Points, Field(ge=1)]


class RedeemOut(BaseModel):
    txn_id: int
    points: int
    airtime_fen: int
    points_balance: int
    airtime_balance_fen: int


@router.get("/points", response_model=PointsOut, summary="Points balance and the points that expire soonest")
async def my_points(principal: CurrentCustomer, session: ReadSession) -> Response:
    balance, buckets = await points_service.summary(session, principal.id)
    dated = [b for b in buckets if b["expires_on"] is not None]
    return json_response({"balance": balance, "expiring": buckets, "next_expiry": dated[0] if dated else None})


@router.get("/points/history", response_model=list[EntryOut], summary="My points movements, newest first")
async def history(
    principal: CurrentCustomer,
    session: ReadSession,
    limit: int = Query(50, ge=1, le=200),
    before_id: Id | None = None,
) -> list[dict]:
    return await points_service.history(session, principal.id, limit=limit, before_id=before_id)


@router.post("/points/redeem-airtime", response_model=RedeemOut, summary="Exchange points for airtime")
async def redeem_airtime(
    body: RedeemIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "redeem_airtime", **body.model_dump()},
        handler=lambda: points_service.redeem_for_airtime(
            session, customer_id=principal.id, points=body.points, key=key
        ),
    )
