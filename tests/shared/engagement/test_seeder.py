"""The engagement demo seeder is idempotent and leaves the ledger balanced."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.ledger import service as ledger
from shared.models import Ad, HuntPrize, TreasureHunt
from tenure_demo.seeders import engagement


async def test_seed_twice_creates_once(db) -> None:
    await engagement.seed(db)
    await engagement.seed(db)
    hunts = (await db.scalars(select(TreasureHunt).where(TreasureHunt.name == engagement.HUNT_NAME))).all()
    assert len(hunts) == 1
    assert await db.scalar(select(func.count()).select_from(HuntPrize).where(HuntPrize.hunt_id == hunts[0].id)) >= 3
    assert await db.scalar(
        select(func.count()).select_from(Ad).where(Ad.title.in_([a[0] for a in engagement.ADS]))
    ) == len(engagement.ADS)
    assert (await ledger.verify(db))["ok"]
