"""The four-high daily list (period = the run day) comes from the month to date in daily_usage,
pro-rated against the allowance, not from last month: a customer whose month so far is anomalous
but whose last month was normal is on today's daily list and not on the monthly one, and one whose
last month was anomalous but whose month so far is normal is on the monthly list only."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.engine import fourhigh
from tests.shared.engine.conftest import City, load_city, run


def _ordinary_not_c(city: City) -> list[int]:
    # ordinary customers on the 58/128 plans (k % 10 == 0 is the 199 plan: an ARPU candidate)
    return [c for c in city.ordinary() if (c - city.start) % 10 != 0]


@pytest.fixture(scope="module")
async def cases(sm: async_sessionmaker[AsyncSession], engine: AsyncEngine) -> dict:
    city = await load_city(sm, n=200)
    plain = _ordinary_not_c(city)
    c = {
        "payg_today": plain[0],  # using 3x the data allowance so far this month; last month normal
        "tariff_today": plain[1],  # roaming 120 yuan so far this month; none last month
        "silence_today": plain[2],  # idle membership, 2 % of the allowance so far; last month normal
        "silence_month": plain[3],  # idle membership, 3 months at 3 %; this month normal
        "payg_month": city.planted("payg")[0],  # planted heavy data user, this month back to 50 %
        "normal": plain[4],
    }
    membership = "SELECT id FROM products WHERE code = 'SYN-VIDEO'"
    async with sm.begin() as s:
        allow = "(SELECT {col} FROM monthly_usage u WHERE u.customer_id = d.customer_id ORDER BY month DESC LIMIT 1)"
        for sql, who in (
            (f"UPDATE daily_usage d SET data_mb = 3 * {allow.format(col='data_allowance_mb')} / 30", "payg_today"),
            ("UPDATE daily_usage d SET roaming_fen = 400", "tariff_today"),
            (
                f"UPDATE daily_usage d SET voice_min = {allow.format(col='voice_allowance_min')} / 1500, "
                f"data_mb = {allow.format(col='data_allowance_mb')} / 1500",
                "silence_today",
            ),
            (
                f"UPDATE daily_usage d SET data_mb = {allow.format(col='data_allowance_mb')} / 60, payg_data_fen = 0",
                "payg_month",
            ),
            (
                "UPDATE monthly_usage SET voice_min = voice_allowance_min * 3 / 100, data_mb = data_allowance_mb * 3 / 100",
                "silence_month",
            ),
        ):
            await s.execute(text(f"{sql} WHERE customer_id = :c"), {"c": c[who]})
        for who in ("silence_today", "silence_month"):
            await s.execute(
                text(
                    f"INSERT INTO subscriptions (customer_id, product_id, status, starts_on, channel, charge_fen, last_used_on) "
                    f"VALUES (:c, ({membership}), 'active', CAST(:d AS date) - 200, 'app', 1500, CAST(:d AS date) - 90)"
                ),
                {"c": c[who], "d": city.run_date},
            )
    await run(engine, city)
    async with sm() as s:
        last = await s.scalar(text("SELECT max(month) FROM monthly_usage WHERE customer_id = :c"), {"c": c["normal"]})
        rows = (
            await s.execute(
                text("SELECT customer_id, kind, period FROM four_high_flags WHERE customer_id = ANY(:ids)"),
                {"ids": list(c.values())},
            )
        ).all()
    flags: dict[int, set[tuple[str, date]]] = {}
    for r in rows:
        flags.setdefault(r.customer_id, set()).add((r.kind, r.period))
    return {"c": c, "flags": flags, "today": city.run_date, "month": fourhigh.month_period(last)}


def _lists(cases: dict, who: str) -> tuple[set[str], set[str]]:
    f = cases["flags"].get(cases["c"][who], set())
    return {k for k, p in f if p == cases["today"]}, {k for k, p in f if p == cases["month"]}


@pytest.mark.parametrize(
    ("who", "kind"), [("payg_today", "payg_data"), ("tariff_today", "tariff"), ("silence_today", "silence")]
)
async def test_anomalous_month_to_date_is_on_the_daily_list_only(cases: dict, who: str, kind: str) -> None:
    daily, monthly = _lists(cases, who)
    assert daily == {kind} and monthly == set()


@pytest.mark.parametrize(("who", "kind"), [("payg_month", "payg_data"), ("silence_month", "silence")])
async def test_anomalous_last_month_but_normal_month_to_date_is_on_the_monthly_list_only(
    cases: dict, who: str, kind: str
) -> None:
    daily, monthly = _lists(cases, who)
    assert monthly == {kind} and daily == set()


async def test_a_normal_customer_is_on_neither(cases: dict) -> None:
    assert _lists(cases, "normal") == (set(), set())


def test_the_window_is_the_month_to_date_but_at_least_the_minimum_days() -> None:
    w = fourhigh.daily_window(date(2026, 6, 16), 3)
    assert w == {"w_start": date(2026, 6, 1), "w_frac": 15 / 30}
    early = fourhigh.daily_window(date(2026, 6, 2), 3)  # 1 day of June: the window reaches into May
    assert early == {"w_start": date(2026, 5, 30), "w_frac": 3 / 30}
