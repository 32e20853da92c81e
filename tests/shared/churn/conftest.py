"""A small planted city shared by the churn DB tests, removed again after the package."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import text

from tests.fixtures.planted_churn_city import plant_city

LAST_MONTH = date(2026, 9, 1)
N = 2000


@pytest.fixture(scope="module")
async def city(sm) -> AsyncIterator[dict]:  # type: ignore[no-untyped-def]
    first_id = 5_000_000_000 + secrets.randbelow(90_000) * 10_000  # far from factory ids; phones start "10"
    async with sm.begin() as s:
        v0 = await s.scalar(text("SELECT coalesce(max(version), 0) FROM churn_models"))
        info = await plant_city(s, n=N, first_id=first_id, last_month=LAST_MONTH)
    yield {**info, "first_id": first_id, "last_id": first_id + N - 1, "last_month": LAST_MONTH}
    rng = {"lo": first_id, "hi": first_id + N - 1}
    async with sm.begin() as s:
        for table in ("customer_profiles", "competitor_calls", "monthly_usage"):
            await s.execute(text(f"DELETE FROM {table} WHERE customer_id BETWEEN :lo AND :hi"), rng)
        await s.execute(text("DELETE FROM customers WHERE id BETWEEN :lo AND :hi"), rng)
        await s.execute(text("DELETE FROM churn_models WHERE version > :v"), {"v": v0})
