"""Demo data for the merchant alliance (idempotent, small).

For the first approved merchant (or a demo merchant created here if the city has none):
DEV-ONLY client credentials `demo-merchant-1` / `demo-merchant-secret-dev` (never created when
TENURE_ENV=prod), three approved offers, operator packs, operator budgets and a prepaid balance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance import offers as offer_service
from shared.alliance import onboarding, packs
from shared.logging import get_logger
from shared.models import Merchant, MerchantClient, MerchantStore, Offer, OperatorPack
from shared.settings import get_settings

ORDER = 60
DEMO_CLIENT_ID = "demo-merchant-1"
DEMO_CLIENT_SECRET = "demo-merchant-secret-dev"  # dev-only, documented in the README
log = get_logger(__name__)

OFFERS = [
    {
        "title": "Demo: 20 yuan off a 100 yuan meal",
        "kind": "voucher",
        "face_value_fen": 2000,
        "settlement_fen": 1500,
        "price_points": 500,
        "price_airtime_fen": 0,
        "stock_total": 500,
        "per_customer_limit": 2,
    },
    {
        "title": "Demo: free milk tea",
        "kind": "free_item",
        "face_value_fen": 1500,
        "settlement_fen": 1000,
        "price_points": 300,
        "price_airtime_fen": 300,
        "stock_total": 300,
        "per_customer_limit": 1,
    },
    {
        "title": "Demo: one-month membership",
        "kind": "membership",
        "face_value_fen": 3000,
        "settlement_fen": 2000,
        "price_points": 0,
        "price_airtime_fen": 1000,
        "stock_total": 100,
        "per_customer_limit": 1,
    },
]
PACKS = [
    {"code": "DATA-1G", "name": "1 GB data pack", "asset": "data_mb", "amount": 1024, "price_fen": 500},
    {"code": "AIRTIME-10", "name": "10 yuan airtime", "asset": "airtime_fen", "amount": 1000, "price_fen": 950},
    {"code": "POINTS-500", "name": "500 loyalty points", "asset": "points", "amount": 500, "price_fen": 400},
]
BUDGETS = {"points": 1_000_000, "airtime_fen": 10_000_000, "data_mb": 10_000_000}


async def _merchant(session: AsyncSession) -> Merchant:
    merchant = await session.scalar(
        select(Merchant).where(Merchant.status == "approved").order_by(Merchant.id).limit(1)
    )
    if merchant is not None:
        return merchant
    merchant = await onboarding.apply(
        session,
        name="Demo tea house",
        category="food",
        contact_name="Wang",
        contact_phone="13900000000",
        settlement_account="6222020000000001",
        stores=[onboarding.StoreIn("Demo tea house, People's Road", "1 People's Road, Demo City")],
    )
    return await onboarding.transition(session, merchant_id=merchant.id, to="approved")


async def seed(session: AsyncSession) -> None:
    merchant = await _merchant(session)
    if not await session.scalar(select(MerchantStore.id).where(MerchantStore.merchant_id == merchant.id).limit(1)):
        session.add(MerchantStore(merchant_id=merchant.id, name=f"{merchant.name} (main store)", address="Demo City"))
    if get_settings().env != "prod" and not await session.scalar(
        select(MerchantClient.id).where(MerchantClient.client_id == DEMO_CLIENT_ID)
    ):
        await onboarding.issue_client(
            session, merchant_id=merchant.id, client_id=DEMO_CLIENT_ID, secret=DEMO_CLIENT_SECRET
        )
    now = datetime.now(UTC)
    for spec in OFFERS:
        if await session.scalar(select(Offer.id).where(Offer.merchant_id == merchant.id, Offer.title == spec["title"])):
            continue
        offer = await offer_service.publish(
            session,
            merchant_id=merchant.id,
            data=offer_service.OfferIn(
                description=None,
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=365),
                coupon_valid_days=30,
                target_tiers=[],
                target_segments=[],
                **spec,  # type: ignore[arg-type]
            ),
        )
        await offer_service.decide(session, offer_id=offer.id, approve=True)
    for spec in PACKS:
        await session.execute(
            insert(OperatorPack).values(active=True, **spec).on_conflict_do_nothing(index_elements=["code"])
        )
    for asset, amount in BUDGETS.items():
        await packs.fund_budget(session, asset=asset, amount=amount, key=f"demo-seed:{asset}", actor="demo-seeder")
    await packs.topup_merchant(
        session, merchant_id=merchant.id, amount_fen=100_000, key="demo-seed", actor="demo-seeder"
    )
    log.info("demo.alliance_seeded", merchant_id=merchant.id)
