"""Back-office engagement: check-in, points and exchange rules; treasure hunts; app banners.

Every change writes an audit row in its own transaction. Creating a hunt or adding a prize moves
budget into ledger prize pools, so those writes take an Idempotency-Key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import select

from admin_app.auth import AnyStaff, Operators, can
from shared.audit import service as audit
from shared.engagement import hunts as hunt_service
from shared.errors import NotFound, Unprocessable
from shared.models import Ad, HuntPrize, HuntSpot, Merchant, TreasureHunt
from shared.notify import templates as sms_templates
from shared.programme import settings as programme_settings
from shared.web.deps import ReadSession, WriteSession, client_ip
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Count, IntId, Points, RefId
from shared.web.patch import patch_changes

router = APIRouter(prefix="/v1", tags=["engagement"])


AdsRead = can("ads.read")
AdsWrite = can("ads.write")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- programme rules ---------------------------------------------------------------------------


class MakeupRule(Strict):
    enabled: bool
    max_days_back: Annotated[Count, Field(le=31)]
    cost_points: Annotated[Points, Field(le=100_000)]
    max_per_month: Annotated[Count, Field(le=31)]


class CheckinRules(Strict):
    rewards: list[Annotated[Points, Field(ge=1, le=100_000)]] = Field(min_length=1, max_length=31)
    makeup: MakeupRule


class ExpiryRule(Strict):
    mode: Literal["end_of_year", "rolling_months"]
    years_after: Annotated[Count, Field(le=10)] = 1
    months: Annotated[Count, Field(ge=1, le=120)] = 24


class AccrualRule(Strict):
    per_yuan: dict[Literal["star1", "star2", "star3", "star4", "star5", "gold", "diamond"], float] = Field(
        description="points per yuan billed, by tier"
    )
    tenure_points_per_year: Annotated[Points, Field(le=10_000)]
    tenure_cap_years: Annotated[Count, Field(le=50)]
    max_points_per_month: Annotated[Points, Field(le=1_000_000)]

    @model_validator(mode="after")
    def _rates(self) -> AccrualRule:
        if any(not 0 <= v <= 100 for v in self.per_yuan.values()):
            raise ValueError("per_yuan rates must be between 0 and 100")
        return self


class ExchangeRule(Strict):
    airtime_fen_per_point: Annotated[Count, Field(ge=1, le=100)]
    min_points: Annotated[Points, Field(ge=1, le=1_000_000)]
    enabled: bool


SmsText = Annotated[str, Field(min_length=1, max_length=sms_templates.MAX_TEMPLATE_CHARS)]


class SmsTemplates(Strict):
    """Every SMS text, without the signature; each may use only its default's {placeholders}."""

    otp: SmsText = Field(description="{code} (required), {minutes}")
    campaign_offer: SmsText = Field(description="{text} (required): the strategy's script or the campaign name")
    refusal_confirmation: SmsText = Field(description="{cool_off_days}")
    order_confirmation: SmsText = Field(description="{product}")
    rebate_instalment: SmsText = Field(description="{product}, {amount_yuan}, {instalment}, {instalments}")

    @field_validator("*")
    @classmethod
    def _placeholders(cls, value: str, info: ValidationInfo) -> str:
        sms_templates.check(str(info.field_name), value)
        return value


RULE_MODELS: dict[str, type[Strict]] = {
    programme_settings.CHECKIN_RULES: CheckinRules,
    programme_settings.POINTS_EXPIRY: ExpiryRule,
    programme_settings.POINTS_ACCRUAL: AccrualRule,
    programme_settings.POINTS_EXCHANGE: ExchangeRule,
    programme_settings.SMS_TEMPLATES: SmsTemplates,
}
RuleKey = Path(pattern=r"^(checkin_rules|points_expiry|points_accrual|points_exchange|sms_templates)$")


@router.get("/programme/rules", summary="All published engagement and points rules")
async def all_rules(principal: AnyStaff, session: ReadSession) -> dict[str, Any]:
    return {key: await programme_settings.get(session, key) for key in RULE_MODELS}


@router.get("/programme/rules/{key}", summary="One published rule")
async def one_rule(principal: AnyStaff, session: ReadSession, key: str = RuleKey) -> dict[str, Any]:
    return await programme_settings.get(session, key)


@router.put("/programme/rules/{key}", summary="Publish a rule (validated per key, audited)")
async def put_rule(
    body: dict[str, Any], request: Request, principal: Operators, session: WriteSession, key: str = RuleKey
) -> dict[str, Any]:
    try:
        value = RULE_MODELS[key].model_validate(body).model_dump()
    except ValueError as exc:
        raise Unprocessable("invalid rule", errors=_errors(exc)) from exc
    before = await programme_settings.get(session, key)
    await programme_settings.put(session, key, value, staff_id=principal.id)
    await audit.record(
        session,
        principal=principal,
        action="programme.rule.update",
        object_kind="programme_setting",
        object_id=key,
        detail={"before": before, "after": value},
        ip=client_ip(request),
    )
    return value


def _errors(exc: Exception) -> list[dict[str, Any]]:
    errs = getattr(exc, "errors", None)
    return [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg"))} for e in errs()] if errs else []


# --- treasure hunts ----------------------------------------------------------------------------


class SpotIn(Strict):
    kind: Literal["app_page", "merchant_code"]
    clue: str | None = Field(None, max_length=500)
    merchant_id: RefId | None = None
    store_id: RefId | None = Field(None, description="the merchant's store the till spot is in")

    @model_validator(mode="after")
    def _merchant(self) -> SpotIn:
        if (self.kind == "merchant_code") != (self.merchant_id is not None):
            raise ValueError("merchant_code spots need a merchant_id, app_page spots none")
        if self.store_id is not None and self.merchant_id is None:
            raise ValueError("only merchant_code spots are in a store")
        return self

    def spec(self) -> hunt_service.SpotSpec:
        return hunt_service.SpotSpec(
            kind=self.kind, clue=self.clue, merchant_id=self.merchant_id, store_id=self.store_id
        )


class PrizeIn(Strict):
    prize_type: Literal["points", "data_mb", "airtime_fen", "coupon"]
    amount: Annotated[Count, Field(ge=1)] = Field(1, description="per win: points, MB or fen (1 for coupons)")
    budget: Annotated[Count, Field(ge=1)] = Field(description="number of wins this prize may pay")
    odds_ppm: Count = Field(description="chance per play, parts per million")
    offer_id: RefId | None = None

    @model_validator(mode="after")
    def _offer(self) -> PrizeIn:
        if (self.prize_type == "coupon") != (self.offer_id is not None):
            raise ValueError("coupon prizes need an offer_id, other prizes none")
        return self

    def spec(self) -> hunt_service.PrizeSpec:
        return hunt_service.PrizeSpec(self.prize_type, self.amount, self.budget, self.odds_ppm, self.offer_id)


class HuntIn(Strict):
    name: str = Field(min_length=2, max_length=120)
    description: str | None = Field(None, max_length=2000)
    starts_at: datetime
    ends_at: datetime
    daily_play_limit: Annotated[Count, Field(ge=1, le=100)] = 3
    spots: list[SpotIn] = Field(min_length=1, max_length=100)
    prizes: list[PrizeIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _window(self) -> HuntIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a timezone offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not hunt_service.odds_fit(p.odds_ppm for p in self.prizes):
            raise ValueError("odds add up to more than 100%")
        return self


class SpotOut(BaseModel):
    id: int
    kind: str
    code: str
    clue: str | None
    merchant_id: int | None
    store_id: int | None
    qr_payload: str | None = Field(description="a till spot's signed QR payload (the bare code does not play it)")


class PrizeOut(BaseModel):
    id: int
    prize_type: str
    amount: int
    budget: int
    remaining: int
    odds_ppm: int
    offer_id: int | None


class HuntOut(BaseModel):
    id: int
    name: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    daily_play_limit: int
    status: str
    spots: list[SpotOut]
    prizes: list[PrizeOut]


async def _hunt_out(session, hunt: TreasureHunt) -> dict:  # type: ignore[no-untyped-def]
    spots = (await session.scalars(select(HuntSpot).where(HuntSpot.hunt_id == hunt.id).order_by(HuntSpot.id))).all()
    prizes = (await session.scalars(select(HuntPrize).where(HuntPrize.hunt_id == hunt.id).order_by(HuntPrize.id))).all()
    return {
        "id": hunt.id,
        "name": hunt.name,
        "description": hunt.description,
        "starts_at": hunt.starts_at,
        "ends_at": hunt.ends_at,
        "daily_play_limit": hunt.daily_play_limit,
        "status": hunt.status,
        "spots": [
            {
                "id": s.id,
                "kind": s.kind,
                "code": s.code,
                "clue": s.clue,
                "merchant_id": s.merchant_id,
                "store_id": s.store_id,
                "qr_payload": hunt_service.qr_payload(s, hunt),
            }
            for s in spots
        ],
        "prizes": [
            {
                "id": p.id,
                "prize_type": p.prize_type,
                "amount": p.amount,
                "budget": p.budget,
                "remaining": p.remaining,
                "odds_ppm": p.weight,
                "offer_id": p.offer_id,
            }
            for p in prizes
        ],
    }


@router.get("/hunts", response_model=list[HuntOut], summary="Treasure hunts, newest first")
async def list_hunts(
    principal: AnyStaff, session: ReadSession, status: str | None = Query(None, pattern=r"^(active|closed)$")
) -> list[dict]:
    stmt = select(TreasureHunt).order_by(TreasureHunt.id.desc()).limit(100)
    if status:
        stmt = stmt.where(TreasureHunt.status == status)
    return [await _hunt_out(session, h) for h in (await session.scalars(stmt)).all()]


@router.get("/hunts/{hunt_id}", response_model=HuntOut, responses={404: {}}, summary="One hunt")
async def get_hunt(principal: AnyStaff, session: ReadSession, hunt_id: IntId) -> dict:
    hunt = await session.get(TreasureHunt, hunt_id)
    if hunt is None:
        raise NotFound("hunt not found")
    return await _hunt_out(session, hunt)


@router.post(
    "/hunts",
    response_model=HuntOut,
    status_code=201,
    summary="Create a hunt with spots and prizes; prize budgets are funded in the ledger",
)
async def create_hunt(
    body: HuntIn, request: Request, principal: Operators, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        hunt = await hunt_service.create_hunt(
            session,
            name=body.name,
            description=body.description,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            daily_play_limit=body.daily_play_limit,
            spots=[s.spec() for s in body.spots],
            prizes=[p.spec() for p in body.prizes],
            actor=principal.subject,
        )
        await audit.record(
            session,
            principal=principal,
            action="hunt.create",
            object_kind="hunt",
            object_id=hunt.id,
            detail=body.model_dump(mode="json"),
            ip=client_ip(request),
        )
        return await _hunt_out(session, hunt)

    return await run_once(
        session, principal=principal, key=key, payload=body.model_dump(mode="json"), handler=handler, status_code=201
    )


@router.post(
    "/hunts/{hunt_id}/prizes",
    response_model=HuntOut,
    status_code=201,
    responses={404: {}, 410: {}},
    summary="Add a prize (its budget is funded in the ledger)",
)
async def add_prize(
    body: PrizeIn,
    request: Request,
    principal: Operators,
    session: WriteSession,
    hunt_id: IntId,
    key: str = IdempotencyKey,
) -> Response:
    async def handler() -> dict:
        hunt, prize = await hunt_service.add_prize_to_hunt(
            session, hunt_id=hunt_id, spec=body.spec(), actor=principal.subject
        )
        await audit.record(
            session,
            principal=principal,
            action="hunt.prize.add",
            object_kind="hunt",
            object_id=hunt_id,
            detail={"prize_id": prize.id, **body.model_dump()},
            ip=client_ip(request),
        )
        return await _hunt_out(session, hunt)

    return await run_once(
        session,
        principal=principal,
        key=key,
        payload={"hunt_id": hunt_id, **body.model_dump()},
        handler=handler,
        status_code=201,
    )


@router.post(
    "/hunts/{hunt_id}/spots",
    response_model=HuntOut,
    status_code=201,
    responses={404: {}},
    summary="Add a spot (an in-app page or a code shown at a merchant's till)",
)
async def add_spot(body: SpotIn, request: Request, principal: Operators, session: WriteSession, hunt_id: IntId) -> dict:
    hunt = await session.get(TreasureHunt, hunt_id)
    if hunt is None:
        raise NotFound("hunt not found")
    spot = await hunt_service.add_spot(session, hunt=hunt, spec=body.spec())
    await audit.record(
        session,
        principal=principal,
        action="hunt.spot.add",
        object_kind="hunt",
        object_id=hunt_id,
        detail={"spot_id": spot.id, **body.model_dump()},
        ip=client_ip(request),
    )
    return await _hunt_out(session, hunt)


@router.post(
    "/hunts/{hunt_id}/close",
    response_model=HuntOut,
    responses={404: {}},
    summary="Close a hunt and return unspent prize budgets to issuance",
)
async def close_hunt(request: Request, principal: Operators, session: WriteSession, hunt_id: IntId) -> dict:
    hunt = await hunt_service.close_hunt(session, hunt_id=hunt_id, actor=principal.subject)
    await audit.record(
        session, principal=principal, action="hunt.close", object_kind="hunt", object_id=hunt_id, ip=client_ip(request)
    )
    return await _hunt_out(session, hunt)


# --- ads ---------------------------------------------------------------------------------------

TIERS = Literal["star1", "star2", "star3", "star4", "star5", "gold", "diamond"]


class AdIn(Strict):
    title: str = Field(min_length=2, max_length=120)
    body: str | None = Field(None, max_length=2000)
    image_url: str | None = Field(None, max_length=300, pattern=r"^https://")
    link: str | None = Field(None, max_length=300, pattern=r"^(https://|tenure://)")
    target_tiers: list[TIERS] = Field(default_factory=list, max_length=7)
    target_segments: list[Annotated[str, Field(min_length=1, max_length=30)]] = Field(
        default_factory=list, max_length=20
    )
    starts_at: datetime
    ends_at: datetime
    merchant_id: RefId | None = None
    priority: Annotated[Count, Field(le=1000)] = 0

    @model_validator(mode="after")
    def _window(self) -> AdIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AdPatch(Strict):
    title: str | None = Field(None, min_length=2, max_length=120)
    body: str | None = Field(None, max_length=2000)
    priority: Annotated[Count, Field(le=1000)] | None = None
    ends_at: datetime | None = None
    status: Literal["approved", "pending", "withdrawn"] | None = None


class AdOut(BaseModel):
    id: int
    title: str
    body: str | None
    image_url: str | None
    link: str | None
    target_tiers: list[str]
    target_segments: list[str]
    starts_at: datetime
    ends_at: datetime
    merchant_id: int | None
    status: str
    priority: int


def _ad_out(a: Ad) -> dict:
    return {k: getattr(a, k) for k in AdOut.model_fields}


@router.get("/ads", response_model=list[AdOut], summary="App banners")
async def list_ads(
    principal: AdsRead,
    session: ReadSession,
    status: str | None = Query(None, pattern=r"^(approved|pending|withdrawn)$"),
) -> list[dict]:
    stmt = select(Ad).order_by(Ad.id.desc()).limit(200)
    if status:
        stmt = stmt.where(Ad.status == status)
    return [_ad_out(a) for a in (await session.scalars(stmt)).all()]


@router.post("/ads", response_model=AdOut, status_code=201, summary="Create a banner (operator ads are approved)")
async def create_ad(body: AdIn, request: Request, principal: AdsWrite, session: WriteSession) -> dict:
    if body.merchant_id is not None and await session.get(Merchant, body.merchant_id) is None:
        raise NotFound("merchant not found")
    ad = Ad(**body.model_dump(), status="approved")
    session.add(ad)
    await session.flush()
    await audit.record(
        session,
        principal=principal,
        action="ad.create",
        object_kind="ad",
        object_id=ad.id,
        detail=body.model_dump(mode="json"),
        ip=client_ip(request),
    )
    return _ad_out(ad)


@router.patch("/ads/{ad_id}", response_model=AdOut, responses={404: {}}, summary="Edit, approve or withdraw a banner")
async def patch_ad(body: AdPatch, request: Request, principal: AdsWrite, session: WriteSession, ad_id: IntId) -> dict:
    ad = await session.get(Ad, ad_id)
    if ad is None:
        raise NotFound("ad not found")
    changes = patch_changes(body, clearable={"body"})
    if changes.get("ends_at") is not None and changes["ends_at"] <= ad.starts_at:
        raise Unprocessable("ends_at must be after starts_at")
    for k, v in changes.items():
        setattr(ad, k, v)
    await session.flush()
    await audit.record(
        session,
        principal=principal,
        action="ad.update",
        object_kind="ad",
        object_id=ad_id,
        detail=body.model_dump(mode="json", exclude_unset=True),
        ip=client_ip(request),
    )
    return _ad_out(ad)


@router.delete("/ads/{ad_id}", status_code=204, responses={404: {}}, summary="Withdraw a banner (kept for the record)")
async def delete_ad(request: Request, principal: AdsWrite, session: WriteSession, ad_id: IntId) -> Response:
    ad = await session.get(Ad, ad_id)
    if ad is None:
        raise NotFound("ad not found")
    ad.status = "withdrawn"
    await audit.record(
        session, principal=principal, action="ad.withdraw", object_kind="ad", object_id=ad_id, ip=client_ip(request)
    )
    return Response(status_code=204)
