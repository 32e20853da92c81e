"""Inbound SMS from the gateway: a customer's reply to a campaign SMS ("回复 1 立即办理").

Not a customer route: the gateway calls it, signed with `Tenure-Signature: t=<unix>,v1=<hex
HMAC-SHA256(TENURE_SMS_GATEWAY_SECRET, "<t>.<raw body>")>` (5 minutes' tolerance). Idempotent
by the gateway's message id: a redelivery gets the first result (`replayed: true`) and nothing
happens twice. The reply SMS (Chinese) is sent after the transaction has committed.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.campaigns import replies
from shared.errors import Unauthorized, Unprocessable
from shared.notify import signing
from shared.web.deps import AppSettings, WriteSession

router = APIRouter(prefix="/v1/sms", tags=["sms gateway"])


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    message_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="the gateway's id of this inbound message (idempotency key)",
    )
    from_: str = Field(alias="from", min_length=5, max_length=20, pattern=r"^\+?[0-9 \-]+$")
    text: str = Field(max_length=500)
    received_at: datetime


class ReplyOut(BaseModel):
    reply_id: int
    result: str
    """ordered · handed_to_manager · refused · unsubscribed · insufficient_funds · not_eligible ·
    no_open_offer · unrecognised · unknown_sender"""
    keyword: str
    touch_id: int | None
    subscription_id: int | None
    task_id: int | None
    reply_text: str | None
    detail: dict
    replayed: bool


@router.post(
    "/replies",
    response_model=ReplyOut,
    responses={401: {"description": "bad or stale signature"}},
    summary="Gateway: an inbound SMS (signed, idempotent by message id)",
)
async def inbound_reply(
    request: Request,
    session: WriteSession,
    settings: AppSettings,
    background: BackgroundTasks,
    signature: str | None = Header(None, alias="Tenure-Signature"),
) -> ReplyOut:
    raw = await request.body()
    if not signing.verify(settings.sms_gateway_secret, signature, raw, tolerance_s=settings.sms_signature_tolerance_s):
        raise Unauthorized("bad or missing gateway signature", header="Tenure-Signature")
    try:
        body = ReplyIn.model_validate_json(raw)
    except ValidationError as exc:
        raise Unprocessable(
            "invalid reply body",
            errors=[{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()][:10],
        ) from exc
    out = await replies.handle_reply(
        session, message_id=body.message_id, phone=body.from_, body=body.text, received_at=body.received_at
    )
    if out.reply_text and out.phone and not out.replayed:
        # background tasks run after the response, hence after the commit: a rolled-back reply texts nobody
        background.add_task(request.app.state.sms_sender.send, out.phone, out.reply_text)
    return ReplyOut(
        reply_id=out.reply_id,
        result=out.result,
        keyword=out.keyword,
        touch_id=out.touch_id,
        subscription_id=out.subscription_id,
        task_id=out.task_id,
        reply_text=out.reply_text,
        detail=out.detail,
        replayed=out.replayed,
    )
