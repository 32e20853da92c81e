"""Care-task workload (issue 14 item 10): one task per customer per day, a per-manager daily cap
from the programme settings with churn retention before routine care, and no task (nor an open
leftover) for a do-not-disturb customer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from shared.backoffice import capacity
from tests.fixtures.factories import create_staff
from tests.shared.engine.conftest import City, load_city, run

CAP = 3


@pytest.fixture(scope="module")
async def city3(sm, engine) -> City:  # type: ignore[no-untyped-def]
    c = await load_city(sm, n=400, managers_per_branch=2)
    await run(engine, c)
    return c


async def test_daily_cap_dedupe_priority_and_dnd(sm, engine, city3: City) -> None:  # type: ignore[no-untyped-def]
    scope = {"lo": city3.lo, "hi": city3.hi}
    async with sm.begin() as s:
        dnd = await s.scalar(
            text(
                "SELECT customer_id FROM care_tasks WHERE customer_id > :lo AND customer_id <= :hi "
                "AND status = 'open' ORDER BY customer_id LIMIT 1"
            ),
            scope,
        )
        assert dnd is not None
        await s.execute(text("UPDATE customers SET do_not_disturb = true WHERE id = :c"), {"c": dnd})
        await s.execute(
            text(
                "DELETE FROM care_tasks t WHERE customer_id > :lo AND customer_id <= :hi AND customer_id <> :c "
                "AND NOT EXISTS (SELECT 1 FROM manager_contacts v WHERE v.task_id = t.id OR v.follow_up_task_id = t.id)"
            ),
            {**scope, "c": dnd},
        )
        await s.execute(
            text(
                "INSERT INTO programme_settings (key, value) VALUES ('care', CAST(:v AS json)) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"v": json.dumps({"max_per_manager_per_day": CAP})},
        )
    try:
        await run(engine, city3)
        async with sm() as s:
            per_day = (
                await s.execute(
                    text(
                        "SELECT manager_id, due_on, count(*) FROM care_tasks WHERE customer_id > :lo "
                        "AND customer_id <= :hi AND status = 'open' GROUP BY 1, 2"
                    ),
                    scope,
                )
            ).all()
            doubles = await s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT customer_id, due_on FROM care_tasks WHERE customer_id > :lo "
                    "AND customer_id <= :hi AND status = 'open' GROUP BY 1, 2 HAVING count(*) > 1) x"
                ),
                scope,
            )
            dnd_open = await s.scalar(
                text("SELECT count(*) FROM care_tasks WHERE customer_id = :c AND status IN ('open', 'in_progress')"),
                {"c": dnd},
            )
            churn = await s.scalar(
                text(
                    "SELECT count(*) FROM care_tasks WHERE customer_id > :lo AND customer_id <= :hi "
                    "AND status = 'open' AND kind = 'churn'"
                ),
                scope,
            )
            routine_over_churn = await s.scalar(
                text(
                    "SELECT count(*) FROM care_tasks r WHERE r.customer_id > :lo AND r.customer_id <= :hi "
                    "AND r.kind = 'routine' AND r.status = 'open' AND r.due_on = :d AND EXISTS ("
                    " SELECT 1 FROM customer_profiles p JOIN manager_assignments a ON a.customer_id = p.customer_id"
                    " JOIN customer_features f ON f.customer_id = p.customer_id"
                    " WHERE a.manager_id = r.manager_id AND p.risk_level = 'high' AND NOT f.do_not_disturb"
                    " AND NOT EXISTS (SELECT 1 FROM care_tasks c WHERE c.customer_id = p.customer_id"
                    "                 AND c.kind = 'churn'))"
                ),
                {**scope, "d": city3.run_date + timedelta(days=3)},
            )
        assert per_day and max(n for _, _, n in per_day) <= CAP
        assert doubles == 0
        assert dnd_open == 0
        assert churn > 0
        # routine care never took a slot while a churn-risk customer of the same manager went without
        assert routine_over_churn == 0
    finally:
        async with sm.begin() as s:
            await s.execute(text("DELETE FROM programme_settings WHERE key = 'care'"))
            await s.execute(text("UPDATE customers SET do_not_disturb = false WHERE id = :c"), {"c": dnd})


async def test_unassigned_high_value_per_branch_visible(admin_client, tokens, sm, city3: City) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 10: unassigned high-value customers per branch in the API and the /metrics gauge."""
    branch = city3.branches[0]
    async with sm.begin() as s:
        staff = (await create_staff(s, role="analyst")).id
        # a manager leaves: their customers stay unassigned until capacity is raised or they are moved
        gone = await s.scalar(
            text(
                "SELECT manager_id FROM manager_assignments a JOIN customers c ON c.id = a.customer_id "
                "WHERE c.branch_id = :b GROUP BY 1 ORDER BY 1 LIMIT 1"
            ),
            {"b": branch},
        )
        dropped = await s.execute(text("DELETE FROM manager_assignments WHERE manager_id = :m"), {"m": gone})
        assert dropped.rowcount > 0  # type: ignore[attr-defined]
    r = await admin_client.get("/v1/assignments/capacity", headers=tokens.admin(staff, "analyst"))
    assert r.status_code == 200, r.text
    row = next(x for x in r.json() if x["branch_id"] == branch)
    assert row["unassigned"] >= dropped.rowcount > 0  # type: ignore[attr-defined]
    assert row["high_value"] == row["assigned"] + row["unassigned"] and row["managers"] >= 1
    await capacity.refresh_gauge(sm)
    assert capacity.UNASSIGNED.labels(branch_id=str(branch))._value.get() == row["unassigned"]
    # the console's branch screen: the same customers listed (masked, keyset pages) and the managers' room
    h = tokens.admin(staff, "analyst")
    listed: list[dict] = []
    after = 0
    while True:
        r = await admin_client.get(
            f"/v1/assignments/capacity/{branch}/unassigned", params={"after": after, "limit": 100}, headers=h
        )
        assert r.status_code == 200, r.text
        listed += r.json()["items"]
        if r.json()["next_after"] is None:
            break
        after = r.json()["next_after"]
    assert len(listed) == row["unassigned"] == len({x["customer_id"] for x in listed})
    assert all("*" in (x["customer_phone"] or "*") for x in listed)
    managers = (await admin_client.get(f"/v1/assignments/capacity/{branch}/managers", headers=h)).json()
    assert len(managers) == row["managers"] and sum(m["capacity"] for m in managers) == row["capacity"]
    assert sum(m["load"] for m in managers) == row["load"]
    async with sm.begin() as s:
        other = await create_staff(s, role="branch_head", org_unit_id=city3.branches[1])
    head = tokens.admin(other.id, "branch_head", org_unit_id=city3.branches[1])
    for path in ("unassigned", "managers"):
        assert (await admin_client.get(f"/v1/assignments/capacity/{branch}/{path}", headers=head)).status_code == 404
