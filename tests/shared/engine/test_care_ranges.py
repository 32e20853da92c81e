"""Care tasks are made per range of managers, side by side: the tasks equal those of one statement
over every assigned customer, with the per-manager daily cap binding."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.engine import care
from shared.engine.runner import run_nightly
from tests.shared.engine.conftest import load_city

_TASKS = (
    "SELECT customer_id, manager_id, kind, dedupe_key, due_on, reason, product_id, script, status FROM care_tasks "
    "WHERE customer_id > :lo AND customer_id <= :hi ORDER BY dedupe_key"
)


async def test_ranges_of_managers_make_the_tasks_one_statement_makes(
    sm: async_sessionmaker[AsyncSession], engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = await load_city(sm, n=600, managers_per_branch=3)
    span = {"lo": city.lo, "hi": city.hi}
    async with sm.begin() as s:
        await s.execute(
            text(
                "INSERT INTO programme_settings (key, value) VALUES ('care', CAST(:v AS json)) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"v": json.dumps({"max_per_manager_per_day": 4})},
        )
    await run_nightly(
        engine,
        run_date=city.run_date,
        only=["features", "tiers", "clusters", "four_high", "profiles", "assignment", "tags", "strategies"],
        chunk=150,
    )

    used: list[list[tuple[int, int]]] = []
    ranges = care.manager_ranges

    async def spy(session: AsyncSession, parts: int) -> list[tuple[int, int]]:
        out = await ranges(session, parts)
        used.append(out)
        return out

    async def tasks() -> list[tuple]:
        await run_nightly(engine, run_date=city.run_date, only=["care_tasks"], chunk=150)
        async with sm.begin() as s:
            rows = [tuple(r) for r in await s.execute(text(_TASKS), span)]
            await s.execute(text("DELETE FROM care_tasks WHERE customer_id > :lo AND customer_id <= :hi"), span)
        return rows

    monkeypatch.setattr(care, "manager_ranges", spy)
    side_by_side = await tasks()
    monkeypatch.setattr(care, "manager_ranges", lambda session, parts: _one_range())
    one_statement = await tasks()

    assert len(used) == 1 and len(used[0]) == 2, used  # one range per chunk in flight (ctx.parallel)
    managers = {r[1] for r in side_by_side}
    assert len(managers) >= 4 and len(side_by_side) > 20
    assert side_by_side == one_statement
    per_day: dict[tuple, int] = {}
    for r in side_by_side:
        per_day[(r[1], r[4])] = per_day.get((r[1], r[4]), 0) + 1
    assert max(per_day.values()) == 4, "the cap binds, so a range that split a manager would show here"


async def _one_range() -> list[tuple[int, int]]:
    return [(-1, 2**62)]
