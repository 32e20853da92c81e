"""The priority list against a plain reference of its ordering rule, page by page, on a seeded scope.

The reference is the rule as the module states it, in the most direct SQL: every customer of the
scope, priority = round(coalesce(churn score, risk-level fallback) x ARPU + 5000 x overdue open
tasks), sorted by priority descending then id. The list (one statement that reads `customers` for
its page only, keyset pages) must give the same customers in the same order with the same priority
and overdue count, for managers and branch heads, with and without filters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shared import clock
from shared.auth.principals import Audience, Principal
from shared.errors import NotFound
from shared.manager import customers as service
from shared.manager import portrait
from shared.models import CustomerProfile
from tests.fixtures.factories_manager import task, world

REFERENCE = text(
    """
    SELECT c.id, c.tier, p.risk_level, p.four_high,
           (SELECT count(*) FROM care_tasks t WHERE t.customer_id = c.id
              AND t.status IN ('open', 'in_progress') AND t.due_on < :today) AS overdue,
           CAST(round(coalesce(p.churn_score,
                               CASE p.risk_level WHEN 'high' THEN 0.6 WHEN 'medium' THEN 0.3
                                                 WHEN 'low' THEN 0.1 ELSE 0 END::float8)
                      * coalesce(p.arpu_fen, 0)
                      + 5000 * (SELECT count(*) FROM care_tasks t WHERE t.customer_id = c.id
                                  AND t.status IN ('open', 'in_progress') AND t.due_on < :today)) AS bigint) AS priority
    FROM customers c LEFT JOIN customer_profiles p ON p.customer_id = c.id
    WHERE (CAST(:manager AS integer) IS NOT NULL AND EXISTS (SELECT 1 FROM manager_assignments a
                                             WHERE a.customer_id = c.id AND a.manager_id = CAST(:manager AS integer)))
       OR (CAST(:manager AS integer) IS NULL AND c.branch_id = CAST(:branch AS integer))
    ORDER BY priority DESC, c.id
    """
)


async def _seed(db: Any) -> Any:
    """A scope with every case the rule has: scores, risk-level fallbacks, no ARPU, no profile,
    ties (same priority, so the id decides), overdue tasks of any manager or none, and tasks that
    do not count (done, due today, cancelled)."""
    w = await world(db, per_manager=24)
    today = clock.today()
    a = w.a1
    for i, c in enumerate(a):
        p = await db.get(CustomerProfile, c.id)
        if i % 5 == 1:
            p.churn_score = None  # the risk level stands in
        if i % 7 == 2:
            p.churn_score, p.risk_level = None, None  # neither: 0
        if i % 6 == 3:
            p.arpu_fen = None
        if i % 4 == 0:
            p.churn_score, p.arpu_fen = 0.5, 10_000  # ties at 5000
        if i % 8 == 5:
            p.four_high = ["payg_data"]
    await db.flush()
    await db.execute(text("DELETE FROM customer_profiles WHERE customer_id = :c"), {"c": a[9].id})
    await task(db, a[3].id, w.mgr_a1.id, due_on=today - timedelta(days=3))
    await task(db, a[3].id, None, due_on=today - timedelta(days=1), status="in_progress")
    await task(db, a[6].id, w.mgr_a2.id, due_on=today - timedelta(days=10))  # another manager's task still counts
    await task(db, a[8].id, w.mgr_a1.id, due_on=today - timedelta(days=2), status="done")
    await task(db, a[10].id, w.mgr_a1.id, due_on=today - timedelta(days=2), status="cancelled")
    await task(db, a[12].id, w.mgr_a1.id, due_on=today)  # due today: not overdue
    await task(db, a[9].id, w.mgr_a1.id, due_on=today - timedelta(days=1))  # no profile, one overdue task
    await db.flush()
    return w


async def _pages(db: Any, principal: Principal, filters: service.CustomerFilters, sort: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = await service.list_customers(db, principal, filters=filters, sort=sort, after=after, limit=7)
        out += page["items"]
        after = page["next_cursor"]
        if after is None:
            return out


@pytest.mark.parametrize("who", ["manager", "branch_head"])
async def test_list_matches_the_reference_order(db, who: str) -> None:
    w = await _seed(db)
    today = clock.today()
    if who == "manager":
        principal = Principal("staff", w.mgr_a1.id, "account_manager", Audience.MANAGER, w.branch_a)
        ref = (await db.execute(REFERENCE, {"today": today, "manager": w.mgr_a1.id, "branch": None})).all()
    else:
        principal = Principal("staff", w.head_a.id, "branch_head", Audience.MANAGER, w.branch_a)
        ref = (await db.execute(REFERENCE, {"today": today, "manager": None, "branch": w.branch_a})).all()
    assert len({r.priority for r in ref}) < len(ref)  # the seed has ties: the id must break them
    cases = {
        "all": (service.CustomerFilters(), lambda r: True),
        "high risk": (service.CustomerFilters(risk_levels=["high"]), lambda r: r.risk_level == "high"),
        "gold": (service.CustomerFilters(tiers=["gold"]), lambda r: r.tier == "gold"),
        "four-high": (service.CustomerFilters(four_high="any"), lambda r: bool(r.four_high)),
    }
    for name, (filters, keep) in cases.items():
        got = await _pages(db, principal, filters, "priority")
        want = [r for r in ref if keep(r)]
        assert [(i["id"], i["priority"], i["overdue_tasks"]) for i in got] == [
            (r.id, r.priority, r.overdue) for r in want
        ], name
    by_id = await _pages(db, principal, service.CustomerFilters(), "id")
    assert [i["id"] for i in by_id] == sorted(r.id for r in ref)


async def test_portrait_in_scope_equals_the_counter_path_and_out_of_scope_is_not_found(db) -> None:
    w = await _seed(db)
    today = clock.today()
    mine = Principal("staff", w.mgr_a1.id, "account_manager", Audience.MANAGER, w.branch_a)
    c = w.a1[3]
    fused = await portrait.build_visible(db, mine, c.id, today=today)
    assert fused == await portrait.build(db, c, today=today)
    assert fused["open_tasks"] and fused["phone"].count("*") == 4
    head = Principal("staff", w.head_a.id, "branch_head", Audience.MANAGER, w.branch_a)
    assert (await portrait.build_visible(db, head, c.id, today=today))["id"] == c.id
    for principal, other in ((mine, w.a2[0].id), (mine, w.b1[0].id), (head, w.b1[0].id)):
        with pytest.raises(NotFound):
            await portrait.build_visible(db, principal, other, today=today)
