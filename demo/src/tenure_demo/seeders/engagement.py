"""Demo engagement data: published check-in and points rules, one live treasure hunt with funded
prize pools, and a few banners. Idempotent: rules are only published when absent, the hunt and
the ads are found by name/title before being created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engagement import checkin
from shared.engagement import hunts as hunt_service
from shared.models import Ad, Merchant, MerchantStore, Offer, TreasureHunt
from shared.programme import settings as programme_settings

ORDER = 50
HUNT_NAME = "城市寻宝 · City treasure hunt"
ADS = [
    ("签到领积分 · Check in daily for points", [], [], 100),
    ("金卡专享：视频会员半价 · Gold members: half-price video membership", ["gold", "diamond"], [], 80),
    ("流量不够用？10GB 加油包 · Need more data? 10GB booster", [], ["potential_value_loss"], 60),
    ("寻宝赢流量 · Find the treasure, win data", [], [], 50),
]


async def seed(session: AsyncSession) -> None:
    for key in (
        programme_settings.CHECKIN_RULES,
        programme_settings.POINTS_EXPIRY,
        programme_settings.POINTS_ACCRUAL,
        programme_settings.POINTS_EXCHANGE,
    ):
        await programme_settings.publish_defaults(session, key)
    await checkin.ensure_shards(session)

    now = datetime.now(UTC)
    if await session.scalar(select(TreasureHunt.id).where(TreasureHunt.name == HUNT_NAME)) is None:
        merchant_id = await session.scalar(
            select(Merchant.id).where(Merchant.status == "approved").order_by(Merchant.id).limit(1)
        )
        spots = [
            hunt_service.SpotSpec(kind="app_page", clue="在“优惠”页找到藏宝图 · Look for the map on the offers page"),
            hunt_service.SpotSpec(kind="app_page", clue="签到日历里藏着线索 · A clue hides in the check-in calendar"),
        ]
        if merchant_id is not None:
            store_id = await session.scalar(
                select(MerchantStore.id)
                .where(MerchantStore.merchant_id == merchant_id)
                .order_by(MerchantStore.id)
                .limit(1)
            )
            spots.append(
                hunt_service.SpotSpec(
                    kind="merchant_code",
                    merchant_id=merchant_id,
                    store_id=store_id,
                    clue="到联盟商户收银台扫码 · Scan the code at a partner's till",
                )
            )
        prizes = [
            hunt_service.PrizeSpec("points", 50, 2000, 200_000),
            hunt_service.PrizeSpec("data_mb", 1024, 500, 50_000),
            hunt_service.PrizeSpec("airtime_fen", 500, 200, 20_000),
        ]
        offer_id = await session.scalar(
            select(Offer.id)
            .where(Offer.status == "approved", Offer.valid_to > now, Offer.stock_left > 0)
            .order_by(Offer.id)
            .limit(1)
        )
        if offer_id is not None:
            prizes.append(hunt_service.PrizeSpec("coupon", 1, 100, 10_000, offer_id=offer_id))
        await hunt_service.create_hunt(
            session,
            name=HUNT_NAME,
            description="每天三次机会，扫码寻宝赢积分、流量和话费 · Three tries a day",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=60),
            daily_play_limit=3,
            spots=spots,
            prizes=prizes,
            actor="demo-seeder",
        )

    for title, tiers, segments, priority in ADS:
        if await session.scalar(select(Ad.id).where(Ad.title == title)) is None:
            session.add(
                Ad(
                    title=title,
                    target_tiers=tiers,
                    target_segments=segments,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=90),
                    status="approved",
                    priority=priority,
                    link="tenure://engagement",
                )
            )
    await session.flush()
