"""Treasure hunts: live hunts, their clues, playing at a spot, my plays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from customer_app.auth import CurrentCustomer
from shared import clock
from shared.engagement import hunts as hunt_service
from shared.errors import NotFound
from shared.models import HuntPlay, HuntPrize, HuntSpot, TreasureHunt
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import IntId

router = APIRouter(prefix="/v1", tags=["treasure hunt"])


class SpotOut(BaseModel):
    id: int
    kind: str
    clue: str | None
    code: str | None = Field(None, description="only for in-app spots; till codes must be scanned")


class PrizeOut(BaseModel):
    prize_type: str
    amount: int
    remaining: int


class HuntOut(BaseModel):
    id: int
    name: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    daily_play_limit: int
    plays_left_today: int
    spots: list[SpotOut]
    prizes: list[PrizeOut]


class PlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spot_code: str = Field(
        min_length=4,
        max_length=80,
        pattern=r"^(TENURE-SPOT:)?[A-Za-z0-9_\-]+$",
        description="an in-app spot's code, or the QR payload scanned at a merchant's till (TENURE-SPOT:...)",
    )


class PlayOut(BaseModel):
    play_id: int
    hunt_id: int
    won: bool
    result: dict[str, Any]
    played_at: datetime


async def _hunt_out(session, hunt: TreasureHunt, customer_id: int) -> dict:  # type: ignore[no-untyped-def]
    spots = (await session.scalars(select(HuntSpot).where(HuntSpot.hunt_id == hunt.id).order_by(HuntSpot.id))).all()
    prizes = (await session.scalars(select(HuntPrize).where(HuntPrize.hunt_id == hunt.id).order_by(HuntPrize.id))).all()
    return {
        "id": hunt.id,
        "name": hunt.name,
        "description": hunt.description,
        "starts_at": hunt.starts_at,
        "ends_at": hunt.ends_at,
        "daily_play_limit": hunt.daily_play_limit,
        "plays_left_today": await hunt_service.plays_left(
            session, hunt=hunt, customer_id=customer_id, today=clock.today()
        ),
        "spots": [
            {"id": s.id, "kind": s.kind, "clue": s.clue, "code": s.code if s.kind == "app_page" else None}
            for s in spots
        ],
        "prizes": [{"prize_type": p.prize_type, "amount": p.amount, "remaining": p.remaining} for p in prizes],
    }


def _play_out(p: HuntPlay) -> dict:
    return {
        "play_id": p.id,
        "hunt_id": p.hunt_id,
        "won": bool(p.result.get("won")),
        "result": p.result,
        "played_at": p.created_at,
    }


@router.get("/hunts", response_model=list[HuntOut], summary="Treasure hunts running now")
async def live_hunts(principal: CurrentCustomer, session: ReadSession) -> list[dict]:
    now = hunt_service.utcnow()
    hunts = (
        await session.scalars(
            select(TreasureHunt)
            .where(TreasureHunt.status == "active", TreasureHunt.starts_at <= now, TreasureHunt.ends_at > now)
            .order_by(TreasureHunt.ends_at)
            .limit(20)
        )
    ).all()
    return [await _hunt_out(session, h, principal.id) for h in hunts]


@router.get("/hunts/{hunt_id}", response_model=HuntOut, summary="One hunt with its clues and prizes")
async def one_hunt(principal: CurrentCustomer, session: ReadSession, hunt_id: IntId) -> dict:
    hunt = await session.get(TreasureHunt, hunt_id)
    if hunt is None or hunt.status == "draft":
        raise NotFound("hunt not found")
    return await _hunt_out(session, hunt, principal.id)


@router.post(
    "/hunts/{hunt_id}/plays",
    response_model=PlayOut,
    responses={
        404: {},
        409: {"description": "not started, or this till spot was already played by this customer"},
        410: {"description": "hunt ended, till code expired or its spot inactive"},
        422: {"description": "a till code of another hunt"},
        429: {"description": "no plays left today"},
    },
    summary="Play at a spot (scan its code); the draw happens on the server; a till spot plays once per customer",
)
async def play(
    body: PlayIn, principal: CurrentCustomer, session: WriteSession, hunt_id: IntId, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        row = await hunt_service.play(
            session,
            hunt_id=hunt_id,
            customer_id=principal.id,
            spot_code=body.spot_code,
            key=key,
            now=hunt_service.utcnow(),
            today=clock.today(),
        )
        return _play_out(row)

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "hunt_play", "hunt_id": hunt_id, **body.model_dump()},
        handler=handler,
    )


@router.get("/hunts/{hunt_id}/plays", response_model=list[PlayOut], summary="My plays in this hunt")
async def my_plays(principal: CurrentCustomer, session: ReadSession, hunt_id: IntId) -> list[dict]:
    rows = (
        await session.scalars(
            select(HuntPlay)
            .where(HuntPlay.hunt_id == hunt_id, HuntPlay.customer_id == principal.id)
            .order_by(HuntPlay.id.desc())
            .limit(100)
        )
    ).all()
    return [_play_out(p) for p in rows]
