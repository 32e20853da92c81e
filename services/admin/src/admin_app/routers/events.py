"""Key-moment ingest for other systems (hotline, billing, network monitoring): each event is
turned within the request into the matching recommendation and/or care task, under the
contact-pressure rules. Idempotent by (source, external_id): a retry returns the first result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from admin_app.auth import Operators
from admin_app.routers._backoffice import Strict, record
from shared.engine import events as event_service
from shared.web.deps import WriteSession
from shared.web.params import BigRefId

router = APIRouter(prefix="/v1", tags=["events"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown customer"},
    409: {"description": "external_id reused for another event"},
}


class EventIn(Strict):
    source: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9_.\-]+$")
    external_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:\-]+$")
    customer_id: BigRefId
    kind: Literal[
        "hotline_call", "usage_collapse", "low_balance", "contract_ending", "competitor_call", "port_out_code_request"
    ]
    occurred_at: datetime | None = None
    reason: Literal["broadband_lag", "network", "slow_data", "tariff", "billing", "service", "other"] | None = Field(
        None, description="hotline_call only: why the customer called"
    )
    note: str | None = Field(None, max_length=500)


class EventOut(BaseModel):
    event_id: int
    replayed: bool
    result: dict[str, Any]


@router.post(
    "/events",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Ingest a key-moment event; returns the recommendation/task it produced (or why not)",
)
async def ingest(body: EventIn, principal: Operators, request: Request, session: WriteSession) -> Any:
    payload = {k: v for k, v in {"reason": body.reason, "note": body.note}.items() if v is not None}
    out = await event_service.ingest_event(
        session,
        source=body.source,
        external_id=body.external_id,
        customer_id=body.customer_id,
        kind=body.kind,
        occurred_at=body.occurred_at,
        payload=payload,
    )
    if out["replayed"]:
        return JSONResponse(EventOut(**out).model_dump(mode="json"), status_code=status.HTTP_200_OK)
    await record(
        session,
        request,
        principal,
        "event.ingest",
        "key_moment_event",
        out["event_id"],
        {"source": body.source, "external_id": body.external_id, "kind": body.kind},
    )
    return EventOut(**out)
