"""Public merchant application (no token: a merchant has none before approval).

Anonymous callers share no idempotency key space: a key is scoped to a digest of the caller's
address and the application's identifying fields (name, contact phone, settlement account).
The same applicant retrying from the same address replays its first answer; anyone else using
the same key simply files their own application and learns nothing about another's.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from shared.alliance import onboarding
from shared.auth import ratelimit
from shared.web.deps import SessionMaker, WriteSession, client_ip
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["onboarding"])

APPLY_PER_IP_PER_HOUR = 20
APPLY_LIMIT = "too many applications from this address"
CATEGORIES = r"^(food|retail|entertainment|travel|education|health|beauty|services|other)$"


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=4, max_length=300)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=120)
    category: str = Field(pattern=CATEGORIES)
    contact_name: str = Field(min_length=1, max_length=60)
    contact_phone: str = Field(pattern=r"^(1[3-9]\d{9}|0\d{9,11})$")
    settlement_account: str = Field(pattern=r"^\d{12,30}$")
    stores: list[StoreIn] = Field(min_length=1, max_length=50)


class ApplicationOut(BaseModel):
    merchant_id: int
    status: str
    stores: int


@router.post(
    "/merchants/apply",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    responses={409: {"description": "key reused"}, 422: {"description": "invalid"}, 429: {"description": "too many"}},
    summary="Apply to join the alliance (public); the back office approves",
)
async def apply(
    body: ApplicationIn, request: Request, session: WriteSession, sm: SessionMaker, key: str = IdempotencyKey
):
    ip = client_ip(request) or "unknown"
    await ratelimit.reserve(
        sm, [ratelimit.Limit(ratelimit.key("alliance.apply", ip), APPLY_PER_IP_PER_HOUR, 3600, APPLY_LIMIT)]
    )

    async def handler() -> ApplicationOut:
        m = await onboarding.apply(
            session,
            name=body.name,
            category=body.category,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            settlement_account=body.settlement_account,
            stores=[onboarding.StoreIn(s.name, s.address) for s in body.stores],
        )
        return ApplicationOut(merchant_id=m.id, status=m.status, stores=len(body.stores))

    return await run_once(
        session, principal=_key_scope(ip, body), key=key, payload=body, handler=handler, status_code=201
    )


def _key_scope(ip: str, body: ApplicationIn) -> str:
    """The idempotency principal of an anonymous application (see the module docstring)."""
    who = "\x1f".join((ip, body.name, body.contact_phone, body.settlement_account))
    return f"apply:{hashlib.sha256(who.encode()).hexdigest()[:40]}"
