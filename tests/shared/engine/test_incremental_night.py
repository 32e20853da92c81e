"""The incremental night (shared.engine.incremental): after a day of changes, and a day on the
clock that moves windows and countdowns, a night that recomputes only the changed customers
leaves exactly what a full night leaves — the full night run straight after it changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import clock
from shared.engine import incremental, tags, watermarks
from shared.engine.runner import run_nightly
from tests.fixtures.planted_engine_city import load_synthetic
from tests.shared.engine.conftest import RUN_STAGES

SUBSET_STAGES = ("features", "tiers", "profiles", "tags", "strategies")

# the outputs, without the stamps that say when a row was written
OUTPUTS = {
    "features": "SELECT md5(string_agg((to_jsonb(f) - 'computed_at')::text, '|' ORDER BY customer_id)) "
    "FROM customer_features f WHERE customer_id > :lo AND customer_id <= :hi",
    "tiers": "SELECT md5(string_agg(concat_ws(',', id, tier), '|' ORDER BY id)) FROM customers "
    "WHERE id > :lo AND id <= :hi",
    "profiles": "SELECT md5(string_agg((to_jsonb(p) - 'updated_at')::text, '|' ORDER BY customer_id)) "
    "FROM customer_profiles p WHERE customer_id > :lo AND customer_id <= :hi",
    "tags": "SELECT md5(string_agg(concat_ws(',', customer_id, tag_ids), '|' ORDER BY customer_id)) "
    "FROM customer_tag_sets WHERE customer_id > :lo AND customer_id <= :hi",
    "tag_counts": "SELECT md5(string_agg(concat_ws(',', id, customers), '|' ORDER BY id)) FROM tag_definitions",
    "recommendations": "SELECT md5(string_agg(concat_ws(',', id, customer_id, strategy_id, product_id, channel, "
    "status, purpose, origin, reason, expires_at), '|' ORDER BY id)) FROM recommendations "
    "WHERE customer_id > :lo AND customer_id <= :hi",
}


def _days() -> tuple[date, date]:
    """Yesterday and today, both in one month (a new month is a full night by design)."""
    today = clock.today()
    day = today if today.day >= 2 else today + timedelta(days=1)
    return day - timedelta(days=1), day


async def _outputs(sm: async_sessionmaker[AsyncSession], lo: int, hi: int) -> dict[str, Any]:
    async with sm() as s:
        return {k: await s.scalar(text(q), {"lo": lo, "hi": hi}) for k, q in OUTPUTS.items()}


async def _night(engine: AsyncEngine, day: date, *, incremental_night: bool) -> None:
    await run_nightly(engine, run_date=day, only=RUN_STAGES, chunk=150, incremental=incremental_night)


def _local(day: date, hour: int = 10) -> datetime:
    return clock.local_midnight(day) + timedelta(hours=hour)


async def _clock_moved(sm: async_sessionmaker[AsyncSession], lo: int, hi: int, day: date) -> dict[str, list[int]]:
    """Rows already there before the first night whose answers the clock alone moves by `day`: a
    contract countdown reaching 30 days (tag contract_end_30d), a birthday (age), a complaint and a
    refusal leaving their 90 / 30-day windows."""
    k = {"lo": lo, "hi": hi}
    end_of_day = clock.local_midnight(day + timedelta(days=1))
    moved: dict[str, list[int]] = {}
    async with sm.begin() as s:
        moved["contract"] = list(
            await s.scalars(
                text(
                    "UPDATE customers SET contract_end = CAST(:d AS date) + 30 "
                    "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 5 RETURNING id"
                ),
                {**k, "d": day},
            )
        )
        moved["birthday"] = list(
            await s.scalars(
                text(
                    "UPDATE customers SET birthday = make_date(1980, extract(month FROM CAST(:d AS date))::int, "
                    "extract(day FROM CAST(:d AS date))::int) "
                    "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 6 RETURNING id"
                ),
                {**k, "d": day},
            )
        )
        moved["old_complaint"] = list(
            await s.scalars(
                text(
                    "INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction) "
                    "SELECT id, :t, 'service', 'hotline', true, 2 FROM customers "
                    "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 7 RETURNING customer_id"
                ),
                {**k, "t": end_of_day - timedelta(days=90, hours=2)},
            )
        )
        moved["old_refusal"] = list(
            await s.scalars(
                text(
                    "INSERT INTO touches (customer_id, channel, occurred_at, outcome, visible_to_customer) "
                    "SELECT id, 'sms', :t, 'refused', true FROM customers "
                    "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 8 RETURNING customer_id"
                ),
                {**k, "t": end_of_day - timedelta(days=30, hours=2)},
            )
        )
    return moved


async def _feeds(sm: async_sessionmaker[AsyncSession], lo: int, hi: int, day: date) -> None:
    """A day of feed changes for a few customers: usage rebilled, a complaint, a refusal, a
    do-not-disturb switch (each writer's stamps, or the tables' triggers); and the back office
    edits one tag's rule and retires another."""
    k = {"lo": lo, "hi": hi, "t": _local(day - timedelta(days=1))}
    async with sm.begin() as s:
        ids = dict((await s.execute(text("SELECT code, id FROM tag_definitions"))).all())
        await tags.update_tag(s, ids["vip"], changes={"rule": {"field": "arpu_fen", "op": ">=", "value": 9000}})
        await tags.update_tag(s, ids["no_contract"], changes={"active": False})
        await s.execute(
            text(
                "UPDATE monthly_usage SET data_mb = data_mb * 3 + 500, updated_at = now() "
                "WHERE customer_id > :lo AND customer_id <= :hi AND (customer_id - :lo) % 50 = 1"
            ),
            k,
        )
        await s.execute(
            text(
                "INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction) "
                "SELECT id, :t, 'network', 'hotline', false, 1 FROM customers "
                "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 2"
            ),
            k,
        )
        await s.execute(
            text(
                "INSERT INTO touches (customer_id, channel, occurred_at, outcome, visible_to_customer) "
                "SELECT id, 'outbound_call', :t, 'refused', true FROM customers "
                "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 3"
            ),
            k,
        )
        await s.execute(
            text(
                "UPDATE customers SET do_not_disturb = NOT do_not_disturb "
                "WHERE id > :lo AND id <= :hi AND (id - :lo) % 50 = 4"
            ),
            k,
        )


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[incremental.Pass]:
    seen: list[incremental.Pass] = []
    finish = incremental.finish

    async def record(ctx: Any, p: incremental.Pass) -> None:
        seen.append(p)
        await finish(ctx, p)

    monkeypatch.setattr(incremental, "finish", record)
    return seen


async def test_a_subset_night_equals_a_full_night(
    sm: async_sessionmaker[AsyncSession], engine: AsyncEngine, passes: list[incremental.Pass]
) -> None:
    yesterday, today = _days()
    async with sm.begin() as s:
        info = await load_synthetic(s, n=400, run_date=yesterday, branches=2, managers_per_branch=1)
    lo, hi = int(info["start"]), int(info["start"]) + 400  # type: ignore[call-overload]
    moved = await _clock_moved(sm, lo, hi, today)
    await watermarks.forget(sm)
    await _night(engine, yesterday, incremental_night=True)  # no previous pass: everyone
    assert {p.name for p in passes if not p.subset} >= set(SUBSET_STAGES)
    passes.clear()

    await _feeds(sm, lo, hi, today)
    await _night(engine, today, incremental_night=True)
    by_stage = {p.name: p for p in passes}
    assert set(SUBSET_STAGES) <= set(by_stage)
    for name in SUBSET_STAGES:
        assert by_stage[name].subset, (name, by_stage[name].reason)
    assert by_stage["tags"].counts["edited_tags"] == 2  # re-derived for everyone, the others for the changed
    feature_ids = set(by_stage["features"].ids or [])
    assert set(moved["birthday"]) <= feature_ids and set(moved["old_complaint"]) <= feature_ids
    assert set(moved["old_refusal"]) <= feature_ids
    assert set(moved["contract"]) <= set(by_stage["tags"].ids or [])  # contract_end_30d crossed tonight
    in_city = [i for i in feature_ids if lo < i <= hi]
    assert 0 < len(in_city) < 400 / 2
    after_subset = await _outputs(sm, lo, hi)

    passes.clear()
    await _night(engine, today, incremental_night=False)
    assert all(not p.subset for p in passes)
    assert await _outputs(sm, lo, hi) == after_subset


@pytest.mark.parametrize(
    ("previous", "day"),
    [
        (date(2026, 12, 2), date(2026, 12, 3)),  # an ordinary night
        (date(2026, 11, 30), date(2026, 12, 1)),  # into a month after a 30-day month: the 31sts count
        (date(2027, 2, 28), date(2027, 3, 1)),  # after a short February: the 29th to the 31st
        (date(2028, 2, 28), date(2028, 2, 29)),  # a leap day
        (date(2026, 12, 29), date(2027, 1, 3)),  # a few nights missed, across a year
        (date(2026, 12, 3), date(2026, 12, 3)),  # a rerun on the same day: nothing crosses
    ],
)
async def test_anniversary_days_hold_every_date_whose_age_moved(
    sm: async_sessionmaker[AsyncSession], previous: date, day: date
) -> None:
    """The features stage tests `age()` only for dates on an anniversary day (a cheap filter):
    every date of four years whose age in months or years differs between the two days (by
    PostgreSQL's own `age()`) must pass it, or a subset night would miss that customer."""
    allowed = incremental.anniversary_days(previous, day)
    async with sm() as s:
        moved = (
            await s.scalars(
                text(
                    "SELECT DISTINCT CAST(extract(day FROM x) AS int) FROM generate_series("
                    "CAST(:from AS date), CAST(:prev AS date), interval '1 day') g(x) "
                    "WHERE date_part('month', age(CAST(:day AS date), CAST(x AS date))) "
                    "<> date_part('month', age(CAST(:prev AS date), CAST(x AS date))) "
                    "OR date_part('year', age(CAST(:day AS date), CAST(x AS date))) "
                    "<> date_part('year', age(CAST(:prev AS date), CAST(x AS date)))"
                ),
                {"from": previous - timedelta(days=4 * 366), "prev": previous, "day": day},
            )
        ).all()
    assert set(moved) <= set(allowed)
    assert bool(moved) == (previous < day)  # the query sees the crossings it should
