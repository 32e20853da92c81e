"""The revenue at risk each manager assignment carries (migration 0009a): one SQL definition, kept
right by triggers through every way a profile or an assignment is written, and what it buys — the
unfiltered manager list reads profiles for its page only."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update

from shared import clock
from shared.auth.principals import Audience, Principal
from shared.db import native
from shared.manager import customers as service
from shared.models import CustomerProfile, ManagerAssignment
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_manager import assign, profile, task, world

DRIFT = text(
    """
    SELECT a.customer_id, a.revenue_at_risk_fen AS stored,
           coalesce(tenure_revenue_at_risk_fen(p.churn_score, p.risk_level, p.arpu_fen), 0) AS wanted
    FROM manager_assignments a LEFT JOIN customer_profiles p ON p.customer_id = a.customer_id
    WHERE a.revenue_at_risk_fen <> coalesce(tenure_revenue_at_risk_fen(p.churn_score, p.risk_level, p.arpu_fen), 0)
    """
)


async def _drift(db: Any) -> list[Any]:
    return list((await db.execute(DRIFT)).all())


async def _stored(db: Any, customer_id: int) -> int:
    return int(
        await db.scalar(
            text("SELECT revenue_at_risk_fen FROM manager_assignments WHERE customer_id = :c"), {"c": customer_id}
        )
    )


async def test_the_sql_definition_is_the_documented_rule(db) -> None:
    cases = [(0.25, "high", 10_000), (None, "high", 10_000), (None, "medium", 7_001), (None, "low", 333)]
    cases += [(None, None, 9_999), (0.9, None, None), (None, "unknown", 5_000), (0.123, "low", 12_345)]
    for score, risk, arpu in cases:
        got = await db.scalar(
            text("SELECT tenure_revenue_at_risk_fen(CAST(:s AS float8), CAST(:r AS text), CAST(:a AS bigint))"),
            {"s": score, "r": risk, "a": arpu},
        )
        p = score if score is not None else service.RISK_FALLBACK.get(risk or "", 0.0)
        assert got == round(p * (arpu or 0)), (score, risk, arpu)


async def test_every_way_of_writing_keeps_the_assignment_copy_right(db) -> None:
    w = await world(db, per_manager=6)
    a = w.a1
    assert await _drift(db) == [] and await _stored(db, a[0].id) > 0  # assigned after the profile was written

    # the ORM, one row and several
    p0 = await db.get(CustomerProfile, a[0].id)
    p0.churn_score, p0.arpu_fen = 0.5, 20_000
    await db.flush()
    assert await _stored(db, a[0].id) == 10_000
    await db.execute(
        update(CustomerProfile).where(CustomerProfile.customer_id.in_([c.id for c in a])).values(arpu_fen=1_000)
    )
    assert await _drift(db) == []

    # raw SQL, the engine's upsert shape, the risk level standing in for a missing score
    await db.execute(
        text("UPDATE customer_profiles SET churn_score = NULL, risk_level = 'high' WHERE customer_id = :c"),
        {"c": a[1].id},
    )
    assert await _stored(db, a[1].id) == 600
    await db.execute(
        text(
            "INSERT INTO customer_profiles (customer_id, churn_score, arpu_fen, top_factors, four_high) "
            "VALUES (:c, 0.8, 50000, '[]', '[]') "
            "ON CONFLICT (customer_id) DO UPDATE SET churn_score = EXCLUDED.churn_score, arpu_fen = EXCLUDED.arpu_fen"
        ),
        {"c": a[2].id},
    )
    assert await _stored(db, a[2].id) == 40_000

    # a profile deleted, then written again by an insert
    await db.execute(text("DELETE FROM customer_profiles WHERE customer_id = :c"), {"c": a[3].id})
    assert await _stored(db, a[3].id) == 0
    await db.execute(
        text(
            "INSERT INTO customer_profiles (customer_id, churn_score, arpu_fen, top_factors, four_high) "
            "VALUES (:c, 0.3, 1000, '[]', '[]')"
        ),
        {"c": a[3].id},
    )
    assert await _stored(db, a[3].id) == 300

    # an assignment made before the customer has a profile, then the profile arrives
    newcomer = await create_customer(db, branch_id=w.branch_a)
    await assign(db, newcomer.id, w.mgr_a1.id)
    assert await _stored(db, newcomer.id) == 0
    await profile(db, newcomer.id, churn_score=0.2, arpu_fen=4_000)
    assert await _stored(db, newcomer.id) == 800

    # moved to another manager: the value goes along; pointed at another customer: recomputed
    await db.execute(
        update(ManagerAssignment).where(ManagerAssignment.customer_id == a[0].id).values(manager_id=w.mgr_a2.id)
    )
    assert await _stored(db, a[0].id) == 500  # 0.5 × 1,000 since the bulk update
    await db.execute(text("DELETE FROM manager_assignments WHERE customer_id = :c"), {"c": a[5].id})
    await db.execute(
        update(ManagerAssignment).where(ManagerAssignment.customer_id == a[4].id).values(customer_id=a[5].id)
    )
    assert await _drift(db) == []


async def test_the_unfiltered_list_reads_profiles_for_its_page_only(db) -> None:
    w = await world(db, per_manager=24)
    await task(db, w.a1[5].id, w.mgr_a1.id, due_on=clock.today() - timedelta(days=2))
    me = Principal("staff", w.mgr_a1.id, "account_manager", Audience.MANAGER, w.branch_a)
    limit = 7
    # a few dozen rows could tempt the planner into one sequential scan (1 loop, every row): keep
    # the plan the shape it has on a real city, where profiles are probed by primary key
    await db.execute(text("SET LOCAL enable_seqscan = off"))

    async def profile_reads(filters: service.CustomerFilters) -> int:
        sql, args = service.list_query(me, filters=filters, limit=limit, today=clock.today())
        async with native.read_connection(db) as conn:
            row = await conn.fetchrow("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
        return sum(
            n["Actual Loops"]
            for n in _nodes((json.loads(row[0]) if isinstance(row[0], str) else row[0])[0]["Plan"])
            if n.get("Relation Name") == "customer_profiles"
        )

    assert await profile_reads(service.CustomerFilters()) <= limit + 1  # 24 in scope
    assert await profile_reads(service.CustomerFilters(risk_levels=["high"])) >= 24  # a profile filter needs them all
    page = await service.list_customers(db, me, filters=service.CustomerFilters(), limit=limit)
    assert page["items"][0]["id"] == w.a1[5].id and page["items"][0]["overdue_tasks"] == 1


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []):
        out += _nodes(child)
    return out
