"""The merchant's webhook endpoint: set (fresh signing secret, shown once), read, remove."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from alliance_app.auth import CurrentMerchant
from alliance_app.egress import webhook_egress
from shared.alliance import onboarding, webhooks
from shared.models import WebhookDelivery
from shared.web.deps import ReadSession, WriteSession
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["webhook"])


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=10, max_length=300)


class WebhookOut(BaseModel):
    url: str | None
    secret: str | None = Field(None, description="signing secret; returned once, when set")
    signature_header: str = webhooks.SIGNATURE_HEADER


class DeliveryOut(BaseModel):
    id: int
    event: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


@router.put(
    "/webhook",
    response_model=WebhookOut,
    responses={422: {"description": "URL refused"}},
    summary="Set the webhook URL (https to a public address; http://localhost in dev) and get a new signing secret",
)
async def set_webhook(
    body: WebhookIn, request: Request, principal: CurrentMerchant, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    egress = webhook_egress(request)
    # resolved and checked before any database work: a slow DNS answer holds no transaction open
    target = await webhooks.check_url(body.url, allow_local=egress["allow_local"], resolver=egress["resolver"])
    secret: list[str] = []

    async def handler() -> WebhookOut:
        await onboarding.ensure_active(session, principal.id)
        secret.append(await webhooks.set_endpoint(session, merchant_id=principal.id, target=target))
        return WebhookOut(url=target.url, secret=None)  # the stored replay never holds the secret

    response = await run_once(session, principal=principal, key=key, payload=body, handler=handler)
    if secret:
        return JSONResponse(WebhookOut(url=target.url, secret=secret[0]).model_dump())
    return response


@router.get("/webhook", response_model=WebhookOut, summary="The current webhook URL (never the secret)")
async def get_webhook(principal: CurrentMerchant, session: ReadSession) -> WebhookOut:
    merchant = await onboarding.get(session, principal.id)
    return WebhookOut(url=merchant.webhook_url)


@router.delete("/webhook", status_code=204, summary="Remove the webhook; pending deliveries are cancelled")
async def delete_webhook(principal: CurrentMerchant, session: WriteSession) -> Response:
    await webhooks.clear_endpoint(session, merchant_id=principal.id)
    return Response(status_code=204)


@router.get("/webhook/deliveries", response_model=list[DeliveryOut], summary="Recent deliveries and their state")
async def deliveries(
    principal: CurrentMerchant, session: ReadSession, limit: int = Query(50, ge=1, le=100)
) -> list[DeliveryOut]:
    rows = (
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.merchant_id == principal.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    ).all()
    return [
        DeliveryOut(
            id=d.id,
            event=d.event,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            created_at=d.created_at,
        )
        for d in rows
    ]
