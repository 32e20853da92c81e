"""A chunk's statements read only the chunk: PostgreSQL does not carry a range across a join or
into a NOT EXISTS, so each per-table scan names it. Checked on the plan the statement runs with
(EXPLAIN ANALYZE rows per table), for the profiles stage's clean-up of customers who left."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.engine import profiles
from shared.engine.incremental import subset_sql
from shared.engine.runner import run_nightly
from tests.shared.engine.conftest import load_city


def _rows_read(plan: dict[str, Any], table: str) -> int:
    own = (
        int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1)) if plan.get("Relation Name") == table else 0
    )
    return own + sum(_rows_read(p, table) for p in plan.get("Plans", []))


async def test_the_profiles_clean_up_reads_only_its_chunk(
    sm: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    city = await load_city(sm, n=400)
    await run_nightly(engine, run_date=city.run_date, only=["features", "profiles"], chunk=150)
    lo, hi = city.lo + 200, city.lo + 240
    async with sm() as s:
        assert await s.scalar(text("SELECT count(*) FROM customer_features")) >= 350
        await s.execute(text("SET LOCAL enable_nestloop = off"))  # the plan a million-row chunk gets
        for subset, ids in ((False, None), (True, list(range(lo + 1, hi + 1, 2)))):
            statement = "EXPLAIN (ANALYZE, FORMAT JSON) " + subset_sql(profiles._DELETE_GONE, subset)
            plan = (await s.execute(text(statement), {"lo": lo, "hi": hi, "ids": ids})).scalar_one()
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            assert 0 < _rows_read(plan, "customer_features") <= hi - lo, (subset, plan)
        await s.rollback()
