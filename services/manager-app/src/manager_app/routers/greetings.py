"""Birthday and holiday greetings due (with the text to send) and marking them done."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from manager_app.auth import CurrentManager
from manager_app.schemas import CustomerId, GreetingDoneIn, GreetingDoneOut
from shared.manager import greetings as service
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["greetings"])

Occasion = Annotated[
    str, Path(pattern=service.OCCASION_PATTERN, max_length=40, description="birthday:<year> or holiday:<YYYY-MM-DD>")
]


@router.get("/greetings", summary="Greetings due soon (not yet done), with the template filled in")
async def due(
    principal: CurrentManager,
    session: ReadSession,
    days_ahead: Annotated[int, Query(ge=0, le=31)] = 7,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> dict[str, Any]:
    return await service.due(session, principal, days_ahead=days_ahead, after=cursor, limit=limit)


@router.post(
    "/greetings/{occasion}/customers/{customer_id}/done",
    response_model=GreetingDoneOut,
    status_code=201,
    summary="Mark a greeting done for one customer (records the touch)",
)
async def done(
    occasion: Occasion,
    customer_id: CustomerId,
    body: GreetingDoneIn,
    principal: CurrentManager,
    session: WriteSession,
    key: str = IdempotencyKey,
) -> Response:
    async def handler() -> dict[str, Any]:
        g = await service.mark_done(
            session, principal, customer_id=customer_id, occasion=occasion, channel=body.channel, notes=body.notes
        )
        return {
            "customer_id": g.customer_id,
            "occasion": g.occasion,
            "occasion_date": g.occasion_date,
            "channel": g.channel,
            "touch_id": g.touch_id,
        }

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"o": occasion, "c": customer_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )
