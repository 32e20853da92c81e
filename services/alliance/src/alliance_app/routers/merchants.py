"""Public merchant application (no token: a merchant has none before approval)."""
from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from shared.alliance import onboarding
from shared.auth import ratelimit
from shared.errors import TooManyRequests
from shared.masking import phone_digest
from shared.web.deps import SessionMaker, WriteSession, client_ip
from shared.web.idempotency import IdempotencyKey, run_once

router = APIRouter(prefix="/v1", tags=["onboarding"])

APPLY_PER_IP_PER_HOUR = 20
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
    "/merchants/apply", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut,
    responses={409: {"description": "key reused"}, 422: {"description": "invalid"}, 429: {"description": "too many"}},
    summary="Apply to join the alliance (public); the back office approves",
)
async def apply(body: ApplicationIn, request: Request, session: WriteSession, sm: SessionMaker, key: str = IdempotencyKey):
    ip = client_ip(request) or "unknown"
    if await ratelimit.hit(sm, f"alliance.apply:{ip}", window_s=3600) > APPLY_PER_IP_PER_HOUR:
        raise TooManyRequests("too many applications from this address", retry_after_s=3600)

    async def handler() -> ApplicationOut:
        m = await onboarding.apply(
            session, name=body.name, category=body.category, contact_name=body.contact_name,
            contact_phone=body.contact_phone, settlement_account=body.settlement_account,
            stores=[onboarding.StoreIn(s.name, s.address) for s in body.stores],
        )
        return ApplicationOut(merchant_id=m.id, status=m.status, stores=len(body.stores))

    # keys are scoped to the applicant's contact number: a public key space is shared by strangers
    principal = f"apply:{phone_digest(body.contact_phone)}"
    return await run_once(session, principal=principal, key=key, payload=body, handler=handler, status_code=201)
