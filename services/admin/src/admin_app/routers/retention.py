"""Retention rules of the back office (issue 14, items 8 and 11): the offers that fit each cause
of churn (a ladder per stability sub-cause or four-high kind, cheapest fallback last, each rung
with its cost to the operator, limited by the per-customer retention budget) and the key-moment
playbooks (what a hotline call, a usage collapse, a port-out code request... produces). The
nightly run and the next event use the edited rows; the budget itself is the engine setting
`retention_budget` (`PUT /v1/engine/settings/retention_budget`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import text

from admin_app.auth import Analysts, Strategists
from admin_app.routers._backoffice import Strict, record
from shared.engine import events as event_service
from shared.engine import retention_offers as offer_service
from shared.errors import Unprocessable
from shared.models import ProductKind
from shared.touches.service import CHANNELS
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Fen, RefId

router = APIRouter(prefix="/v1", tags=["retention"])
ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "Unknown cause, key, product or channel"}}
CHANNEL_PATTERN = "^(" + "|".join(CHANNELS) + ")$"
Cause = Literal[offer_service.CAUSES]  # type: ignore[valid-type]
PlaybookKey = Literal[event_service.PLAYBOOK_KEYS]  # type: ignore[valid-type]
Kind = Literal[tuple(k.value for k in ProductKind)]  # type: ignore[valid-type]


class OfferIn(Strict):
    label: str = Field(min_length=1, max_length=60, description="short Chinese name the manager reads")
    product_kind: Kind | None = Field(None, description="the cheapest active product of this kind")
    product_id: RefId | None = Field(None, description="this product (instead of product_kind)")
    channel: str = Field(pattern=CHANNEL_PATTERN)
    script: str = Field(min_length=1, max_length=2000)
    cost_fen: Fen | None = Field(None, description="cost to the operator; null: the product's rebate terms, else 0")
    active: bool = True


class LadderIn(Strict):
    offers: list[OfferIn] = Field(
        max_length=offer_service.MAX_RUNGS, description="first choice first; empty: a no-cost care call"
    )


class OfferOut(BaseModel):
    cause: str
    rank: int
    label: str
    product_kind: str | None
    product_id: int | None
    channel: str
    script: str
    cost_fen: int | None
    active: bool


class PlaybookIn(Strict):
    product_kind: Kind | None = None
    product_id: RefId | None = None
    channel: str = Field(pattern=CHANNEL_PATTERN)
    task_kind: Literal[event_service.TASK_KINDS] | None = Field(  # type: ignore[valid-type]
        None, description="care task for the customer's manager, or none"
    )
    reason: str = Field(min_length=1, max_length=120)
    script: str = Field(min_length=1, max_length=2000)


class PlaybookOut(BaseModel):
    key: str
    product_kind: str | None
    product_id: int | None
    channel: str
    task_kind: str | None
    reason: str
    script: str


async def _check_product(session, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    if body.get("product_id") is not None and body.get("product_kind") is not None:
        raise Unprocessable("give product_id or product_kind, not both", product_id=body["product_id"])
    if body.get("product_id") is not None and not await session.scalar(
        text("SELECT EXISTS (SELECT 1 FROM products WHERE id = :p)"), {"p": body["product_id"]}
    ):
        raise Unprocessable("unknown product", product_id=body["product_id"])


@router.get("/retention/offers", response_model=dict[str, list[OfferOut]], summary="Retention-offer ladders by cause")
async def list_offers(principal: Analysts, session: ReadSession) -> dict[str, list[OfferOut]]:
    ladders = await offer_service.list_offers(session)
    return {cause: [OfferOut(**row) for row in rows] for cause, rows in ladders.items()}


@router.put(
    "/retention/offers/{cause}",
    response_model=list[OfferOut],
    responses=ERRORS,
    summary="Replace a cause's ladder of offers (the next nightly run uses it)",
)
async def put_offers(
    cause: Annotated[Cause, "stability sub-cause or four_high:<kind>"],
    body: LadderIn,
    principal: Strategists,
    request: Request,
    session: WriteSession,
) -> list[OfferOut]:
    rungs = [o.model_dump() for o in body.offers]
    for rung in rungs:
        await _check_product(session, rung)
    await offer_service.replace_ladder(session, cause, rungs, staff_id=principal.id)
    await record(session, request, principal, "retention.offers.update", "retention_offers", cause, {"offers": rungs})
    return [OfferOut(**row) for row in (await offer_service.list_offers(session))[cause]]


_PLAYBOOK_SELECT = "SELECT key, product_kind, product_id, channel, task_kind, reason, script FROM key_moment_playbooks"


@router.get("/retention/playbooks", response_model=list[PlaybookOut], summary="Key-moment playbooks")
async def list_playbooks(principal: Analysts, session: ReadSession) -> list[PlaybookOut]:
    rows = await session.execute(text(_PLAYBOOK_SELECT + " ORDER BY key"))
    return [PlaybookOut(**dict(r._mapping)) for r in rows]


@router.put(
    "/retention/playbooks/{key}",
    response_model=PlaybookOut,
    responses=ERRORS,
    summary="Change what a key-moment event produces (the next event uses it)",
)
async def put_playbook(
    key: PlaybookKey, body: PlaybookIn, principal: Strategists, request: Request, session: WriteSession
) -> PlaybookOut:
    data = body.model_dump()
    await _check_product(session, data)
    if key in event_service.URGENT_KINDS and data["task_kind"] is None:
        raise Unprocessable("an urgent key moment must create a care task", key=key)
    await session.execute(
        text(
            "INSERT INTO key_moment_playbooks (key, product_kind, product_id, channel, task_kind, reason, script, "
            "updated_by) VALUES (:key, :product_kind, :product_id, :channel, :task_kind, :reason, :script, :staff) "
            "ON CONFLICT (key) DO UPDATE SET product_kind = EXCLUDED.product_kind, product_id = EXCLUDED.product_id, "
            "channel = EXCLUDED.channel, task_kind = EXCLUDED.task_kind, reason = EXCLUDED.reason, "
            "script = EXCLUDED.script, updated_by = EXCLUDED.updated_by, updated_at = now()"
        ),
        {**data, "key": key, "staff": principal.id},
    )
    await record(session, request, principal, "retention.playbook.update", "key_moment_playbook", key, data)
    row = (await session.execute(text(_PLAYBOOK_SELECT + " WHERE key = :k"), {"k": key})).one()
    return PlaybookOut(**dict(row._mapping))
