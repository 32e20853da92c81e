"""A small planted city (tests/fixtures/planted_engine_city.py) and a nightly run over it, per test module.

Runs skip the churn stage (its own engineer's module, tested there). Every module loads its own
city with fresh ids; assertions look only at that id range, since the engine covers the whole DB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.clock import today as local_today
from shared.engine.runner import STAGE_NAMES, run_nightly
from tests.fixtures.planted_engine_city import load_synthetic, planted

RUN_STAGES = [s for s in STAGE_NAMES if s != "churn"]


@dataclass
class City:
    start: int
    n: int
    run_date: date
    branches: list[int]

    @property
    def lo(self) -> int:
        return self.start

    @property
    def hi(self) -> int:
        return self.start + self.n

    def planted(self, kind: str) -> list[int]:
        return planted(kind, self.start, self.n)

    def ordinary(self) -> list[int]:
        return [self.start + k for k in range(1, self.n + 1) if k % 100 >= 20 and k % 50 != 49]


async def load_city(sm: async_sessionmaker[AsyncSession], *, n: int = 400, managers_per_branch: int = 1) -> City:
    today = local_today()
    async with sm.begin() as s:
        info = await load_synthetic(s, n=n, run_date=today, branches=2, managers_per_branch=managers_per_branch)
    return City(start=int(info["start"]), n=n, run_date=today, branches=list(info["branches"]))  # type: ignore[arg-type]


async def run(engine: AsyncEngine, city: City, **kw: object) -> int:
    return await run_nightly(engine, run_date=city.run_date, only=RUN_STAGES, chunk=150, **kw)  # type: ignore[arg-type]


SNAPSHOT_QUERIES = {
    "customers": "SELECT md5(string_agg(concat_ws(',', id, tier, updated_at), '|' ORDER BY id)) FROM customers WHERE id > :lo AND id <= :hi",
    "features": "SELECT md5(string_agg(f::text, '|' ORDER BY customer_id)) FROM customer_features f WHERE customer_id > :lo AND customer_id <= :hi",
    "profiles": "SELECT md5(string_agg(p::text, '|' ORDER BY customer_id)) FROM customer_profiles p WHERE customer_id > :lo AND customer_id <= :hi",
    "tags": "SELECT md5(string_agg(concat_ws(',', customer_id, tag_ids, since, updated_at), '|' ORDER BY customer_id)) FROM customer_tag_sets t WHERE customer_id > :lo AND customer_id <= :hi",
    "tag_history": "SELECT count(*)::text FROM customer_tag_history WHERE customer_id > :lo AND customer_id <= :hi",
    "four_high": "SELECT md5(string_agg(h::text, '|' ORDER BY customer_id, kind, period)) FROM four_high_flags h WHERE customer_id > :lo AND customer_id <= :hi",
    "recommendations": "SELECT md5(string_agg(r::text, '|' ORDER BY id)) FROM recommendations r WHERE customer_id > :lo AND customer_id <= :hi",
    "care_tasks": "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM care_tasks t WHERE customer_id > :lo AND customer_id <= :hi",
    "assignments": "SELECT md5(string_agg(a::text, '|' ORDER BY customer_id)) FROM manager_assignments a WHERE customer_id > :lo AND customer_id <= :hi",
    "assignment_history": "SELECT count(*)::text FROM assignment_history WHERE customer_id > :lo AND customer_id <= :hi",
    "clusters": "SELECT md5(string_agg(k::text, '|' ORDER BY cluster_id)) FROM behaviour_clusters k",
}


async def snapshot(sm: async_sessionmaker[AsyncSession], city: City) -> dict[str, str | None]:
    async with sm() as s:
        return {name: await s.scalar(text(q), {"lo": city.lo, "hi": city.hi}) for name, q in SNAPSHOT_QUERIES.items()}


@pytest.fixture(scope="module")
async def city(sm: async_sessionmaker[AsyncSession], engine: AsyncEngine) -> City:
    c = await load_city(sm)
    await run(engine, c)
    return c
