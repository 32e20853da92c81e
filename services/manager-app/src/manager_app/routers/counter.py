"""Hall counter: look up a walk-in by full phone (audited), record the visit outcome."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from manager_app.auth import CurrentHallStaff
from manager_app.schemas import ContactOut, PhoneIn, VisitIn
from shared.manager import counter as service
from shared.manager.contacts import ContactInput
from shared.web.deps import WriteSession, client_ip
from shared.web.errors import error_response, request_language
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["counter"])


@router.post("/counter/lookup", summary="Look up a walk-in by full phone: portrait, needs, offers (audited)")
async def lookup(body: PhoneIn, request: Request, principal: CurrentHallStaff, session: WriteSession) -> Any:
    view = await service.lookup(session, principal, body.phone, ip=client_ip(request))
    if view is None:
        # returned, not raised: the audit row of a failed lookup must commit too
        return error_response(404, "not_found", "customer not found", language=request_language(request))
    return view


@router.post("/counter/visits", response_model=ContactOut, status_code=201, summary="Record a hall visit outcome")
async def visit(
    body: VisitIn, request: Request, principal: CurrentHallStaff, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    data = ContactInput(channel="hall", **body.model_dump(exclude={"phone"}))

    async def handler() -> dict[str, Any]:
        return await service.record_visit(
            session, principal, phone=body.phone, data=data, request_key=key, ip=client_ip(request)
        )

    return await run_once(
        session, principal=principal, key=key, payload=body.model_dump(), handler=handler, status_code=201
    )
