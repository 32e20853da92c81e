"""Demo back-office data: one launched example campaign with a hold-out, and one merchant ad
awaiting the operator's approval. Idempotent: does nothing when they already exist.

Runs after the engine (ORDER 80) so customer_profiles and strategies exist; works without them
too (the audience then falls back to VIP tiers).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.backoffice import ads as ad_service
from shared.campaigns import service as campaign_service
from shared.campaigns.query import AudienceQuery
from shared.models import Ad, Campaign, Merchant, Strategy

ORDER = 95
CAMPAIGN_NAME = "示例：高价值客户流失挽留 (demo)"


async def seed(session: AsyncSession) -> None:
    if await session.scalar(select(Campaign.id).where(Campaign.name == CAMPAIGN_NAME)) is None:
        await _example_campaign(session)
    merchant_id = await session.scalar(select(Merchant.id).where(Merchant.status == "approved").order_by(Merchant.id))
    if (
        merchant_id is not None
        and await session.scalar(select(Ad.id).where(Ad.merchant_id == merchant_id, Ad.status == "pending")) is None
    ):
        now = clock.now()
        await ad_service.submit_merchant_ad(
            session,
            merchant_id=merchant_id,
            title="合作商户：会员到店 8 折",
            body="凭积分券到店消费享 8 折",
            starts_at=now,
            ends_at=now + timedelta(days=30),
            target_tiers=["star5", "gold", "diamond"],
        )


async def _example_campaign(session: AsyncSession) -> None:
    has_profiles = await session.scalar(
        text("SELECT EXISTS (SELECT 1 FROM customer_profiles WHERE risk_level = 'high')")
    )
    query = AudienceQuery(tiers=["star5", "gold", "diamond"], risk_levels=["high"] if has_profiles else [])
    strategy_id = await session.scalar(
        select(Strategy.id).where(Strategy.active.is_(True)).order_by(Strategy.priority, Strategy.id)
    )
    today = clock.now().date()
    campaign = await campaign_service.create_campaign(
        session,
        name=CAMPAIGN_NAME,
        query=query,
        strategy_id=strategy_id,
        channel="manager_call",
        flow="manager_task",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=30),
        holdout_pct=10,
        cost_per_touch_fen=200,
        created_by=None,
    )
    await campaign_service.launch(session, campaign.id)
