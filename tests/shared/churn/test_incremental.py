"""The incremental night: after a day of changes, scoring only the changed customers leaves
exactly what a full recompute leaves (scores, levels, factors and their updated_at: a full pass
that found a score to change would rewrite it and move its updated_at)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.churn import scoring
from shared.engine import watermarks

PROFILE = (
    "SELECT md5(string_agg(concat_ws(',', customer_id, churn_score, warning_coefficient, risk_level, uplift_score,"
    " top_factors, model_version, updated_at), '|' ORDER BY customer_id)) FROM customer_profiles"
    " WHERE customer_id >= :lo AND customer_id <= :hi"
)


async def _snapshot(sm, city) -> str:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return str(await s.scalar(text(PROFILE), {"lo": city["first_id"], "hi": city["last_id"]}))


async def _a_day_of_changes(sm, city) -> None:  # type: ignore[no-untyped-def]
    """As the feeds write them: usage upserted (stamped), competitor calls and complaints added,
    handsets changed, a contract renewed (customers.updated_at)."""
    p = {"lo": city["first_id"], "hi": city["last_id"], "m": city["last_month"]}
    async with sm.begin() as s:
        await s.execute(
            text(
                "UPDATE monthly_usage SET data_mb = data_mb * 3 + 500, voice_min = voice_min / 4, updated_at = now()"
                " WHERE customer_id BETWEEN :lo AND :hi AND customer_id % 20 = 1 AND month = :m"
            ),
            p,
        )
        await s.execute(
            text(
                "INSERT INTO competitor_calls (customer_id, called_at, competitor, duration_s)"
                " SELECT id, TIMESTAMPTZ '2026-09-20 10:00+08', 'unicom', 300 FROM customers"
                " WHERE id BETWEEN :lo AND :hi AND id % 20 = 2"
            ),
            p,
        )
        await s.execute(
            text(
                "INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction)"
                " SELECT id, TIMESTAMPTZ '2026-09-25 10:00+08', 'network', 'hotline', false, 1 FROM customers"
                " WHERE id BETWEEN :lo AND :hi AND id % 20 = 3"
            ),
            p,
        )
        await s.execute(
            text(
                "UPDATE customers SET contract_end = DATE '2028-01-01', updated_at = now()"
                " WHERE id BETWEEN :lo AND :hi AND id % 20 = 4"
            ),
            p,
        )


@pytest.fixture(autouse=True)
async def _drop_added_complaints(sm, city):  # type: ignore[no-untyped-def]
    """The city's teardown deletes its customers; complaints added here go first."""
    yield
    async with sm.begin() as s:
        await s.execute(
            text("DELETE FROM complaints WHERE customer_id BETWEEN :lo AND :hi"),
            {"lo": city["first_id"], "hi": city["last_id"]},
        )


async def test_incremental_scoring_equals_a_full_recompute(sm, city) -> None:  # type: ignore[no-untyped-def]
    await watermarks.forget(sm, scoring.WATERMARK)
    first = await scoring.score_all(sm, cutoff=city["last_month"], incremental=True)  # no watermark: full
    assert first > 0
    await _a_day_of_changes(sm, city)

    changed = await scoring.changed_since(sm, await _watermark(sm))
    in_city = [c for c in changed if city["first_id"] <= c <= city["last_id"]]
    assert 0 < len(in_city) <= 4 * 2000 // 20 + 5  # the four slices, nothing else of this city
    written = await scoring.score_all(sm, cutoff=city["last_month"], incremental=True)
    assert written < first / 2  # only the changed customers were scored
    incremental = await _snapshot(sm, city)

    await watermarks.forget(sm, scoring.WATERMARK)
    await scoring.score_all(sm, cutoff=city["last_month"], incremental=False)
    assert await _snapshot(sm, city) == incremental


async def test_another_model_means_a_full_pass(sm, city) -> None:  # type: ignore[no-untyped-def]
    await scoring.score_all(sm, cutoff=city["last_month"], incremental=True)
    async with sm.begin() as s:
        await s.execute(
            text("UPDATE engine_watermarks SET key = jsonb_set(key, '{model_version}', '-1') WHERE name = 'churn'")
        )
    full = await scoring.score_all(sm, cutoff=city["last_month"], incremental=True)
    again = await scoring.score_all(sm, cutoff=city["last_month"], incremental=True)
    assert full > 0 and again < full  # the stale key forced a full pass; the next one is incremental


async def _watermark(sm):  # type: ignore[no-untyped-def]
    async with sm() as s:
        return await s.scalar(text("SELECT started_at FROM engine_watermarks WHERE name = 'churn'"))
