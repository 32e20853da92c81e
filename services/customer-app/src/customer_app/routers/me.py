"""The signed-in subscriber's own profile (masked)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from customer_app.auth import CurrentCustomer
from shared.errors import NotFound
from shared.masking import mask_id_number, mask_name, mask_phone
from shared.models import Customer
from shared.web.deps import ReadSession

router = APIRouter(prefix="/v1", tags=["account"])


class MeOut(BaseModel):
    id: int
    name: str
    phone: str
    id_number: str | None
    tier: str
    status: str
    join_date: date
    birthday: date | None


@router.get("/me", response_model=MeOut, summary="My profile (masked)")
async def me(principal: CurrentCustomer, session: ReadSession) -> MeOut:
    c = await session.scalar(select(Customer).where(Customer.id == principal.id))
    if c is None:
        raise NotFound("customer not found")
    return MeOut(
        id=c.id,
        name=mask_name(c.name) or "",
        phone=mask_phone(c.phone) or "",
        id_number=mask_id_number(c.id_number),
        tier=c.tier,
        status=c.status,
        join_date=c.join_date,
        birthday=c.birthday,
    )
