"""The calling merchant's own record."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from alliance_app.auth import CurrentMerchant
from shared.errors import NotFound
from shared.models import Merchant
from shared.web.deps import ReadSession

router = APIRouter(prefix="/v1", tags=["merchant"])


class MerchantMeOut(BaseModel):
    id: int
    name: str
    category: str
    status: str


@router.get("/me", response_model=MerchantMeOut, summary="The merchant this token belongs to")
async def me(principal: CurrentMerchant, session: ReadSession) -> MerchantMeOut:
    m = await session.scalar(select(Merchant).where(Merchant.id == principal.id))
    if m is None:
        raise NotFound("merchant not found")
    return MerchantMeOut(id=m.id, name=m.name, category=m.category, status=m.status)
