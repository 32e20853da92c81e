"""The calling merchant's treasure-hunt till spots and their signed QR payloads."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from alliance_app.auth import CurrentMerchant
from shared.engagement import hunts as hunt_service
from shared.errors import NotFound
from shared.web.deps import ReadSession
from shared.web.params import IntId

router = APIRouter(prefix="/v1", tags=["merchant"])


class SpotOut(BaseModel):
    spot_id: int
    hunt_id: int
    hunt_name: str
    starts_at: datetime
    ends_at: datetime
    clue: str | None
    store_id: int | None
    store_name: str | None
    qr_payload: str = Field(
        description="print this as the QR at the till: signed, valid until the hunt ends; each customer plays it once"
    )
    players: int = Field(description="customers who have played this spot")


def _out(m: hunt_service.MerchantSpot) -> SpotOut:
    return SpotOut(
        spot_id=m.spot.id,
        hunt_id=m.hunt.id,
        hunt_name=m.hunt.name,
        starts_at=m.hunt.starts_at,
        ends_at=m.hunt.ends_at,
        clue=m.spot.clue,
        store_id=m.store.id if m.store else None,
        store_name=m.store.name if m.store else None,
        qr_payload=m.qr_payload,
        players=m.players,
    )


@router.get(
    "/me/spots",
    response_model=list[SpotOut],
    summary="My stores' treasure-hunt spots in hunts not yet over, with the QR payload to show at the till",
)
async def my_spots(principal: CurrentMerchant, session: ReadSession) -> list[SpotOut]:
    rows = await hunt_service.merchant_spots(session, merchant_id=principal.id, now=hunt_service.utcnow())
    return [_out(m) for m in rows]


@router.get("/me/spots/{spot_id}", response_model=SpotOut, responses={404: {}}, summary="One of my till spots")
async def my_spot(principal: CurrentMerchant, session: ReadSession, spot_id: IntId) -> SpotOut:
    rows = await hunt_service.merchant_spots(
        session, merchant_id=principal.id, now=hunt_service.utcnow(), spot_id=spot_id
    )
    if not rows:
        raise NotFound("spot not found")
    return _out(rows[0])
