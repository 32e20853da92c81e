"""Daily check-in: status, check in (one database statement), make up a missed day."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from customer_app.auth import CurrentCustomer
from shared import clock
from shared.engagement import checkin as checkin_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, request_hash, run_once
from shared.web.render import json_response

router = APIRouter(prefix="/v1", tags=["check-in"])
ORDER = 0  # matched before the other routers: the morning peak is made of check-ins
_CHECKIN_HASH = request_hash({"op": "checkin"})


class CheckInOut(BaseModel):
    local_date: date
    streak: int
    points: int
    balance: int
    makeup: bool
    expires_on: date


class MakeupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    local_date: date


class MakeupOut(BaseModel):
    local_date: date
    streak: int
    points: int
    cost_points: int
    balance: int
    makeup: bool
    current_streak: int


class DayOut(BaseModel):
    local_date: date
    points: int
    makeup: bool


class MakeupInfo(BaseModel):
    enabled: bool
    cost_points: int
    used_this_month: int
    max_per_month: int
    missed_days: list[date]


class StatusOut(BaseModel):
    local_date: date
    checked_in_today: bool
    streak: int
    next_reward: int
    rewards: list[int]
    month: list[DayOut]
    makeup: MakeupInfo


@router.get("/checkin", response_model=StatusOut, summary="Today's check-in status, streak and rewards")
async def status(principal: CurrentCustomer, session: ReadSession) -> Response:
    return json_response(await checkin_service.status(session, customer_id=principal.id, today=clock.today()))


@router.post(
    "/checkin",
    response_model=CheckInOut,
    responses={409: {"description": "already checked in today"}},
    summary=f"Check in for today ({clock.TZ_NAME}); once per day, idempotent per key",
)
async def check_in(request: Request, principal: CurrentCustomer, key: str = IdempotencyKey) -> Response:
    # The idempotency record is written by the check-in statement itself (same table and replay
    # semantics as run_once), and that one statement runs as its own transaction: the whole
    # request costs one database round trip — the morning peak is made of these.
    result = await checkin_service.check_in_autocommit(
        request.app.state.engine,
        customer_id=principal.id,
        day=clock.today(),
        idem=checkin_service.Idem(principal.subject, key, _CHECKIN_HASH),
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return Response(content=result.body, status_code=result.status_code, media_type="application/json", headers=headers)


@router.post("/checkin/makeup", response_model=MakeupOut, summary="Make up a missed day (costs points)")
async def make_up(
    body: MakeupIn, principal: CurrentCustomer, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    today = clock.today()
    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"op": "makeup", **body.model_dump(mode="json")},
        handler=lambda: checkin_service.make_up(
            session, customer_id=principal.id, day=body.local_date, today=today, key=key
        ),
    )
