"""The back-office demo seeder is idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.models import Ad, Campaign
from tenure_demo.seeders import backoffice
from tests.fixtures.factories import create_merchant


async def test_seed_twice_creates_once(db) -> None:
    await create_merchant(db)
    await backoffice.seed(db)
    await backoffice.seed(db)
    assert await db.scalar(select(func.count()).where(Campaign.name == backoffice.CAMPAIGN_NAME)) == 1
    assert await db.scalar(select(Campaign.status).where(Campaign.name == backoffice.CAMPAIGN_NAME)) == "running"
    assert await db.scalar(select(func.count()).select_from(Ad).where(Ad.status == "pending")) >= 1
