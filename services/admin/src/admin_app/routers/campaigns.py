"""Campaigns with control groups: build (audience query, strategy, channel, schedule, hold-out),
preview the audience, schedule, launch, dispatch outbound sends, finish, list members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, Strict, page, record
from shared.campaigns import service as campaign_service
from shared.campaigns.query import AudienceQuery
from shared.db.transactions import own_transaction
from shared.models import Campaign, CampaignMember
from shared.web.deps import ReadSession, SessionMaker, WriteSession
from shared.web.params import After, Count, Fen, IntId, RefId

router = APIRouter(prefix="/v1", tags=["campaigns"])

Flow = Literal["app", "manager_task", "outbound"]
Channel = Literal["app", "app_push", "manager_call", "manager_visit", "sms", "outbound_call"]
Status = Literal["draft", "scheduled", "running", "finished", "cancelled"]


class CampaignIn(Strict):
    name: str = Field(min_length=2, max_length=120)
    query: AudienceQuery = Field(
        default_factory=AudienceQuery, description="who: segments, tags, tiers, risk levels, stages, four-high kinds"
    )
    strategy_id: RefId | None = Field(None, description="the offer and script (strategies table)")
    flow: Flow = Field(description="app: recommendations; manager_task: care tasks; outbound: SMS / call gateway")
    channel: Channel
    starts_on: date
    ends_on: date
    holdout_pct: Annotated[Count, Field(le=50)] = Field(
        10, description="share of the audience that gets nothing (control group)"
    )
    cost_per_touch_fen: Annotated[Fen, Field(le=1_000_000)] = 0
    target_retention_uplift: float | None = Field(
        None,
        gt=0,
        le=0.5,
        description="the retention effect it is meant to have (0.02 = +2 pp); default: programme setting",
    )
    target_arpu_uplift_fen: Annotated[Fen, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="the monthly ARPU effect it is meant to have (fen); default: programme setting"
    )

    @model_validator(mode="after")
    def _dates(self) -> CampaignIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class CampaignPatch(Strict):
    name: str | None = Field(None, min_length=2, max_length=120)
    query: AudienceQuery | None = None
    strategy_id: RefId | None = None
    channel: Channel | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    holdout_pct: Annotated[Count, Field(le=50)] | None = None
    cost_per_touch_fen: Annotated[Fen, Field(le=1_000_000)] | None = None
    target_retention_uplift: float | None = Field(None, gt=0, le=0.5)
    target_arpu_uplift_fen: Annotated[Fen, Field(gt=0, le=1_000_000)] | None = None


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    query: dict
    strategy_id: int | None
    flow: str
    channel: str
    starts_on: date
    ends_on: date
    holdout_pct: int
    cost_per_touch_fen: int
    status: str
    created_by: int | None
    created_at: datetime
    launched_at: datetime | None = None
    target_retention_uplift: float | None = None
    target_arpu_uplift_fen: int | None = None
    members: int = 0
    holdout_members: int = 0


class PreviewIn(Strict):
    query: AudienceQuery = Field(default_factory=AudienceQuery)
    holdout_pct: Annotated[Count, Field(le=50)] = 10


class PreviewOut(BaseModel):
    audience: int
    expected_holdout: int


class LaunchOut(BaseModel):
    campaign: CampaignOut
    members: int
    holdout: int
    treated: int
    recommendations: int
    tasks: int
    queued: int
    pushed: int
    suppressed: int
    """treated members not contacted because of contact-pressure rules (cap, do-not-disturb, cool-off)"""
    unassigned: int
    """treated members without an account manager (manager_task flow)"""


class DispatchOut(BaseModel):
    sent: int
    failed: int


class MemberOut(BaseModel):
    customer_id: int
    holdout: bool
    baseline_arpu_fen: int | None
    branch_id: int | None = None
    manager_id: int | None = None
    tier: str | None = None
    """branch, manager and tier as they were at launch"""
    added_at: datetime


async def _out(session, campaign: Campaign) -> CampaignOut:  # type: ignore[no-untyped-def]
    members, held = (
        await session.execute(
            select(func.count(), func.count().filter(CampaignMember.holdout)).where(
                CampaignMember.campaign_id == campaign.id
            )
        )
    ).one()
    return CampaignOut.model_validate(campaign).model_copy(update={"members": members, "holdout_members": held})


@router.get("/campaigns", response_model=Page[CampaignOut], summary="Campaigns, newest first")
async def list_campaigns(
    principal: can("campaigns.read"),
    session: ReadSession,
    status_: Status | None = Query(None, alias="status"),
    after: IntId | None = None,
    limit: int = Limit,
) -> Page[CampaignOut]:
    stmt = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if status_:
        stmt = stmt.where(Campaign.status == status_)
    if after:
        stmt = stmt.where(Campaign.id < after)
    return page([await _out(session, c) for c in (await session.scalars(stmt)).all()], limit)


@router.post("/campaigns/preview", response_model=PreviewOut, summary="Count the audience a query selects now")
async def preview(body: PreviewIn, principal: can("campaigns.read"), session: ReadSession) -> PreviewOut:
    return PreviewOut(**await campaign_service.preview(session, body.query, holdout_pct=body.holdout_pct))


@router.post("/campaigns", response_model=CampaignOut, status_code=status.HTTP_201_CREATED, summary="Create a draft")
async def create_campaign(
    body: CampaignIn, request: Request, principal: can("campaigns.write"), session: WriteSession
) -> CampaignOut:
    campaign = await campaign_service.create_campaign(
        session, **body.model_dump(exclude={"query"}), query=body.query, created_by=principal.id
    )
    await record(session, request, principal, "campaign.create", "campaign", campaign.id, body.model_dump(mode="json"))
    return await _out(session, campaign)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, summary="One campaign with member counts")
async def get_campaign(campaign_id: IntId, principal: can("campaigns.read"), session: ReadSession) -> CampaignOut:
    return await _out(session, await campaign_service.get_campaign(session, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, summary="Edit a draft or scheduled campaign")
async def update_campaign(
    campaign_id: IntId, body: CampaignPatch, request: Request, principal: can("campaigns.write"), session: WriteSession
) -> CampaignOut:
    fields = body.model_dump(exclude={"query"})
    fields["query"] = body.query
    campaign, changes = await campaign_service.update_campaign(session, campaign_id, **fields)
    if changes:
        await record(
            session,
            request,
            principal,
            "campaign.update",
            "campaign",
            campaign_id,
            {k: [str(v) for v in pair] for k, pair in changes.items()},
        )
    return await _out(session, campaign)


async def _transition(action: str, campaign_id: int, request: Request, principal, session) -> CampaignOut:  # type: ignore[no-untyped-def]
    campaign = await getattr(campaign_service, action)(session, campaign_id)
    await record(session, request, principal, f"campaign.{action}", "campaign", campaign_id)
    return await _out(session, campaign)


@router.post(
    "/campaigns/{campaign_id}/schedule",
    response_model=CampaignOut,
    summary="Draft → scheduled: the launch job starts it on starts_on",
)
async def schedule(
    campaign_id: IntId, request: Request, principal: can("campaigns.launch"), session: WriteSession
) -> CampaignOut:
    return await _transition("schedule", campaign_id, request, principal, session)


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignOut, summary="Cancel before launch")
async def cancel(
    campaign_id: IntId, request: Request, principal: can("campaigns.launch"), session: WriteSession
) -> CampaignOut:
    return await _transition("cancel", campaign_id, request, principal, session)


@router.post(
    "/campaigns/{campaign_id}/finish",
    response_model=CampaignOut,
    summary="Stop a running campaign (open offers expire, queued sends are dropped)",
)
async def finish(
    campaign_id: IntId, request: Request, principal: can("campaigns.launch"), session: WriteSession
) -> CampaignOut:
    return await _transition("finish", campaign_id, request, principal, session)


@router.post(
    "/campaigns/{campaign_id}/launch",
    response_model=LaunchOut,
    summary="Select members, hold out the control group, deliver to the rest (once: a relaunch is 409)",
)
async def launch(
    campaign_id: IntId, request: Request, principal: can("campaigns.launch"), session: WriteSession
) -> LaunchOut:
    result = await campaign_service.launch(session, campaign_id)
    await record(session, request, principal, "campaign.launch", "campaign", campaign_id, result.as_dict())
    campaign = await campaign_service.get_campaign(session, campaign_id)
    return LaunchOut(campaign=await _out(session, campaign), **result.as_dict())


@router.post(
    "/campaigns/{campaign_id}/dispatch",
    response_model=DispatchOut,
    summary="Send the campaign's queued outbound messages through the channel gateway",
)
async def dispatch(
    campaign_id: IntId, request: Request, principal: can("campaigns.launch"), sm: SessionMaker
) -> DispatchOut:
    gateway = getattr(request.app.state, "outbound_gateway", None)
    totals = await campaign_service.dispatch_outbound(
        sm, campaign_id=campaign_id, gateway=gateway, signature=request.app.state.settings.sms_signature
    )
    # the dispatch committed per batch (messages left the gateway); its audit row follows on its own
    async with own_transaction(sm) as session:
        await record(session, request, principal, "campaign.dispatch", "campaign", campaign_id, totals)
    return DispatchOut(**totals)


@router.get(
    "/campaigns/{campaign_id}/members",
    response_model=Page[MemberOut],
    summary="Members with their hold-out flag and baseline ARPU",
)
async def members(
    campaign_id: IntId,
    principal: can("campaigns.read"),
    session: ReadSession,
    holdout: bool | None = None,
    after: After = 0,
    limit: int = Limit,
) -> Page[MemberOut]:
    await campaign_service.get_campaign(session, campaign_id)
    stmt = (
        select(CampaignMember)
        .where(CampaignMember.campaign_id == campaign_id, CampaignMember.customer_id > after)
        .order_by(CampaignMember.customer_id)
        .limit(limit)
    )
    if holdout is not None:
        stmt = stmt.where(CampaignMember.holdout.is_(holdout))
    rows = (await session.scalars(stmt)).all()
    return page(
        [
            MemberOut(
                customer_id=m.customer_id,
                holdout=m.holdout,
                baseline_arpu_fen=m.baseline_arpu_fen,
                branch_id=m.branch_id,
                manager_id=m.manager_id,
                tier=m.tier,
                added_at=m.added_at,
            )
            for m in rows
        ],
        limit,
        key="customer_id",
    )
