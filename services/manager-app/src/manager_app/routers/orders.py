"""Acting for the customer: place an offer they consented to (consent_ref required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from manager_app.auth import CurrentManager
from manager_app.schemas import CustomerId, OrderIn, OrderOut
from shared.manager.orders import place_for_customer
from shared.web.deps import WriteSession
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["orders"])


@router.post(
    "/customers/{customer_id}/orders",
    response_model=OrderOut,
    status_code=201,
    summary="Place an offer for the customer, with their recorded consent",
)
async def place_order(
    customer_id: CustomerId, body: OrderIn, principal: CurrentManager, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict[str, Any]:
        return await place_for_customer(
            session,
            principal,
            customer_id=customer_id,
            product_id=body.product_id,
            consent_ref=body.consent_ref,
            channel=body.channel,
            notes=body.notes,
            request_key=key,
        )

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"c": customer_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )
