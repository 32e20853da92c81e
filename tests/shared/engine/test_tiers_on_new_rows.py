"""A new feature row starts from the tier the rules give it, so the tiers stage after it writes
only customers: on a cold run it used to rewrite every new feature row (the row had started
from the loader's tier on the customer), 890k of the 1M city's rows."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.engine.runner import run_nightly
from tests.shared.engine.conftest import load_city

_ROWS = """
SELECT f.customer_id, f.xmin::text AS version, f.tier AS feature_tier, c.tier
FROM customer_features f JOIN customers c ON c.id = f.customer_id
WHERE f.customer_id > :lo AND f.customer_id <= :hi ORDER BY 1
"""


async def test_the_tiers_stage_leaves_new_feature_rows_alone(
    sm: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    city = await load_city(sm, n=300)
    span = {"lo": city.lo, "hi": city.hi}
    async with sm.begin() as s:  # the loader's tiers: everyone at the bottom, as a fresh import
        await s.execute(text("UPDATE customers SET tier = 'star1' WHERE id > :lo AND id <= :hi"), span)
    await run_nightly(engine, run_date=city.run_date, only=["features"], chunk=150)
    async with sm() as s:
        before = (await s.execute(text(_ROWS), span)).all()
    await run_nightly(engine, run_date=city.run_date, only=["tiers"], chunk=150)
    async with sm() as s:
        after = (await s.execute(text(_ROWS), span)).all()

    assert len(after) == len(before) > 200
    lifted = [r for r in after if r.tier != "star1"]
    assert len(lifted) > 20, "the city must have customers the rules lift above star1"
    assert all(r.feature_tier == r.tier for r in after), "both copies of the tier agree after the stage"
    assert [(r.customer_id, r.version) for r in after] == [(r.customer_id, r.version) for r in before]
