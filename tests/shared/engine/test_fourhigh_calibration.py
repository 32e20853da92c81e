"""Four-high calibration on a city from the demo generator (tenure_demo.generator.load_city).

The generator plants high_tariff / high_payg / high_silence / high_arpu (seed 004) in
customers.attributes->>'planted'; every other customer (normal, drifter, silent, vip, the other
three anomaly groups) is a negative for a type. With the default thresholds (programme settings
`four_high`) each type's monthly list recovers its planted group with precision and recall of at
least 0.9; the daily list (month to date, 15 days in) at least 0.8 (one partial month is noisier
than the monthly list's 3-month averages). bench/fourhigh_eval.py measures the same at 30,000.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenure_demo.generator import load_city

N = 4000
SEED = 11
AS_OF = date(2026, 6, 16)  # usage 2025-12 .. 2026-05; daily usage 2026-06-01 .. 06-15


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "bench" / "fourhigh_eval.py"
    spec = importlib.util.spec_from_file_location("fourhigh_eval", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def generated(database_url: str) -> dict:
    """The module's own fresh database (the generator only loads into an empty one)."""
    return load_city(database_url, customers=N, months=6, seed=SEED, as_of=AS_OF, progress=lambda s: None)


@pytest.fixture(scope="module")
async def scores(engine: AsyncEngine, generated: dict) -> dict:
    return await _bench().evaluate(engine, AS_OF)


@pytest.mark.parametrize("kind", ["tariff", "payg_data", "silence", "arpu_mismatch"])
async def test_monthly_list_recovers_each_planted_group(scores: dict, kind: str) -> None:
    m = scores["monthly"]["kinds"][kind]
    assert m["tp"] >= 50, m  # the city plants ~2-3 % per type
    assert m["precision"] >= 0.9 and m["recall"] >= 0.9, (m, scores["monthly"]["flagged_by_group"][kind])


@pytest.mark.parametrize("kind", ["tariff", "payg_data", "silence", "arpu_mismatch"])
async def test_daily_list_from_month_to_date_recovers_each_planted_group(scores: dict, kind: str) -> None:
    m = scores["daily"]["kinds"][kind]
    assert m["tp"] >= 50, m
    assert m["precision"] >= 0.8 and m["recall"] >= 0.9, (m, scores["daily"]["flagged_by_group"][kind])


async def test_dormant_lines_are_not_high_silence(scores: dict) -> None:
    # `silent` customers (next to no use, ~1 active day a month) are dormant, not 高沉默
    for lst in ("monthly", "daily"):
        assert scores[lst]["flagged_by_group"].get("silence", {}).get("silent", 0) == 0
