"""Manager assignment (capacity, balance, stability, reasons), care tasks from the calendar, and
four-high care followed by normalisation."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import text

from shared.clock import TZ as LOCAL_TZ
from shared.engine import fourhigh
from tests.shared.engine.conftest import City, load_city, run


@pytest.fixture(scope="module")
async def city2(sm, engine) -> City:  # type: ignore[no-untyped-def]
    c = await load_city(sm, n=400, managers_per_branch=2)
    await run(engine, c)
    return c


async def _loads(sm, city: City) -> dict[int, list[int]]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT s.org_unit_id, s.id, count(a.customer_id) FROM staff_users s "
                    "LEFT JOIN manager_assignments a ON a.manager_id = s.id "
                    "WHERE s.org_unit_id = ANY(:b) AND s.role = 'account_manager' AND s.active GROUP BY 1, 2"
                ),
                {"b": city.branches},
            )
        ).all()
    out: dict[int, list[int]] = {}
    for branch, _, n in rows:
        out.setdefault(branch, []).append(n)
    return out


async def _history(sm, city: City) -> list[str]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return [
            r[0]
            for r in (
                await s.execute(
                    text(
                        "SELECT reason FROM assignment_history WHERE customer_id > :lo AND customer_id <= :hi ORDER BY id"
                    ),
                    {"lo": city.lo, "hi": city.hi},
                )
            ).all()
        ]


async def test_assignment_balanced_capped_and_stable(sm, engine, city2: City) -> None:  # type: ignore[no-untyped-def]
    loads = await _loads(sm, city2)
    assert all(max(v) - min(v) <= 1 and sum(v) > 0 for v in loads.values())
    async with sm.begin() as s:
        await s.execute(
            text(
                "INSERT INTO programme_settings (key, value) VALUES "
                "('assignment', '{\"min_per_manager\": 5, \"max_per_manager\": 10}') "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            )
        )
        await s.execute(text("UPDATE staff_users SET capacity = 10 WHERE org_unit_id = ANY(:b)"), {"b": city2.branches})
    try:
        await run(engine, city2)
        loads = await _loads(sm, city2)
        assert all(v == [10, 10] for v in loads.values()), loads
        released = [h for h in await _history(sm, city2) if h == "engine: manager over capacity"]
        assert released
        before = await _history(sm, city2)
        await run(engine, city2)
        assert await _history(sm, city2) == before  # stable: nothing moves without a reason
        async with sm.begin() as s:
            gone = await s.scalar(
                text("SELECT min(id) FROM staff_users WHERE org_unit_id = :b AND role = 'account_manager'"),
                {"b": city2.branches[0]},
            )
            await s.execute(text("UPDATE staff_users SET active = false WHERE id = :m"), {"m": gone})
        await run(engine, city2)
        async with sm() as s:
            left = await s.scalar(text("SELECT count(*) FROM manager_assignments WHERE manager_id = :m"), {"m": gone})
            reasons = (
                await s.execute(
                    text(
                        "SELECT count(*) FROM assignment_history WHERE from_manager_id = :m "
                        "AND reason = 'engine: manager gone'"
                    ),
                    {"m": gone},
                )
            ).scalar()
            open_tasks = await s.scalar(
                text("SELECT count(*) FROM care_tasks WHERE manager_id = :m AND status = 'open'"), {"m": gone}
            )
        assert left == 0 and reasons == 10 and open_tasks == 0
    finally:
        async with sm.begin() as s:
            await s.execute(text("DELETE FROM programme_settings WHERE key = 'assignment'"))
            await s.execute(
                text("UPDATE staff_users SET capacity = 400, active = true WHERE org_unit_id = ANY(:b)"),
                {"b": city2.branches},
            )


async def test_birthday_and_holiday_greetings(sm, engine, city2: City) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s:
        vip = await s.scalar(
            text(
                "SELECT a.customer_id FROM manager_assignments a JOIN customers c ON c.id = a.customer_id "
                "WHERE a.customer_id > :lo AND a.customer_id <= :hi AND NOT c.do_not_disturb "
                "ORDER BY a.customer_id LIMIT 1"
            ),
            {"lo": city2.lo, "hi": city2.hi},
        )
    birthday = (city2.run_date + timedelta(days=3)).replace(year=1980)
    holiday = city2.run_date + timedelta(days=2)
    async with sm.begin() as s:
        await s.execute(text("UPDATE customers SET birthday = :b WHERE id = :c"), {"b": birthday, "c": vip})
        await s.execute(
            text(
                "INSERT INTO holidays (day, name, greeting_template) VALUES (:d, '测试节', '{name},节日快乐!') "
                "ON CONFLICT (day) DO NOTHING"
            ),
            {"d": holiday},
        )
    try:
        await run(engine, city2)
        await run(engine, city2)
        async with sm() as s:
            rows = (
                await s.execute(
                    text(
                        "SELECT kind, due_on, script FROM care_tasks WHERE customer_id = :c "
                        "AND kind IN ('birthday', 'holiday')"
                    ),
                    {"c": vip},
                )
            ).all()
        kinds = sorted(r.kind for r in rows)
        assert kinds == ["birthday", "holiday"]
        due = {r.kind: r.due_on for r in rows}
        assert due["birthday"] == city2.run_date + timedelta(days=3) and due["holiday"] == holiday
        assert all("{name}" not in r.script for r in rows)
    finally:
        async with sm.begin() as s:
            await s.execute(text("DELETE FROM holidays WHERE day = :d AND name = '测试节'"), {"d": holiday})


async def test_four_high_care_then_normalisation(sm, engine, city2: City) -> None:  # type: ignore[no-untyped-def]
    customer = city2.planted("payg")[0]
    async with sm.begin() as s:
        assert await fourhigh.mark_cared(s, customer, "payg_data") == 2
        last = await s.scalar(text("SELECT max(month) FROM monthly_usage WHERE customer_id = :c"), {"c": customer})
        # the care call happened mid-month; the rest of that month the customer bought a data pack
        await s.execute(
            text(
                "UPDATE four_high_flags SET cared_at = CAST(:t AS timestamptz) WHERE customer_id = :c AND cared_at IS NOT NULL"
            ),
            {"c": customer, "t": datetime.combine(last + timedelta(days=10), time(10), LOCAL_TZ)},
        )
        await s.execute(
            text(
                "UPDATE monthly_usage SET payg_data_fen = 0, bill_fen = bill_fen - payg_data_fen "
                "WHERE customer_id = :c AND month = :m"
            ),
            {"c": customer, "m": last},
        )
    await run(engine, city2)
    async with sm() as s:
        normalised = (
            (
                await s.execute(
                    text(
                        "SELECT normalised_on FROM four_high_flags WHERE customer_id = :c AND kind = 'payg_data' "
                        "AND cared_at IS NOT NULL"
                    ),
                    {"c": customer},
                )
            )
            .scalars()
            .all()
        )
        effect = await fourhigh.care_effect(s)
        flagged_today = await s.scalar(
            text(
                "SELECT count(*) FROM four_high_flags WHERE customer_id = :c AND kind = 'payg_data' "
                "AND period = :d AND cared_at IS NULL"
            ),
            {"c": customer, "d": city2.run_date},
        )
    assert normalised and all(d == city2.run_date for d in normalised)
    assert effect["payg_data"]["normalised"] >= 1 and effect["all"]["share"] > 0
    assert flagged_today == 0
