"""A manager's filtered lists and overdue tasks keep one generic plan (`native.planner_opaque`).

PostgreSQL plans a prepared statement with its values for five executions, then keeps its generic
plan only if that is estimated no dearer. With a literal array of tiers or risk levels, or today's
date against overdue tasks, the valued plan always looked cheaper, so these statements were planned
again on every request (measured on the 1M city: 0.6-1.5 ms of a 1.3-5 ms list). Each statement
here runs ten times on one connection, as the pooled connection runs it; `pg_prepared_statements`
then counts its valued plans (the first five only, once the generic plan is kept).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from shared import clock
from shared.auth.principals import Audience, Principal
from shared.db import native
from shared.manager import customers as service
from shared.manager import tasks as tasks_service
from tests.fixtures.factories_backoffice import bulk_customers
from tests.fixtures.factories_manager import world

F = service.CustomerFilters
SHAPES = {
    "tier": F(tiers=["gold"]),
    "stage": F(stages=["decline"]),
    "risk": F(risk_levels=["high"]),
    "four_high": F(four_high="payg_data"),
    "plain": F(),
}


async def _skewed_scope(db: Any) -> Principal:
    """A manager with 400 customers whose statistics make the literal values look rare, as on a
    real city: 5 % gold, 5 % high risk, 5 % declining, 5 % with a four-high flag, and of one open
    task each only 1 % overdue (the others due in the coming weeks); then ANALYZE."""
    w = await world(db, per_manager=1)
    ids = await bulk_customers(db, 400, branch_id=w.branch_a)
    lo, hi = ids[0], ids[-1]
    today = clock.today()
    await db.execute(
        text(
            "UPDATE customers SET tier = CASE WHEN id % 20 = 0 THEN 'gold' ELSE 'star3' END WHERE id BETWEEN :lo AND :hi"
        ),
        {"lo": lo, "hi": hi},
    )
    await db.execute(
        text(
            "INSERT INTO manager_assignments (customer_id, manager_id) SELECT g, :m FROM generate_series(CAST(:lo AS bigint), :hi) g"
        ),
        {"lo": lo, "hi": hi, "m": w.mgr_a1.id},
    )
    await db.execute(
        text(
            "INSERT INTO customer_profiles (customer_id, risk_level, lifecycle_stage, churn_score, arpu_fen, top_factors, four_high) "
            "SELECT g, CASE WHEN g % 20 = 1 THEN 'high' WHEN g % 3 = 0 THEN 'medium' ELSE 'low' END, "
            "CASE WHEN g % 20 = 2 THEN 'decline' ELSE 'stable' END, 0.1, 5000, '[]', "
            "CASE WHEN g % 20 = 3 THEN '[\"payg_data\"]'::jsonb ELSE '[]'::jsonb END "
            "FROM generate_series(CAST(:lo AS bigint), :hi) g"
        ),
        {"lo": lo, "hi": hi},
    )
    await db.execute(
        text(
            "INSERT INTO care_tasks (customer_id, manager_id, kind, dedupe_key, due_on, reason, status) "
            "SELECT g, :m, 'routine', 'plans:' || g, CAST(:today AS date) + CAST(CASE WHEN g % 100 = 0 THEN -3 ELSE 1 + g % 30 END AS integer), "
            "'test', 'open' FROM generate_series(CAST(:lo AS bigint), :hi) g"
        ),
        {"lo": lo, "hi": hi, "m": w.mgr_a1.id, "today": today},
    )
    for table in ("customers", "customer_profiles", "manager_assignments", "care_tasks"):
        await db.execute(text(f"ANALYZE {table}"))
    return Principal("staff", w.mgr_a1.id, "account_manager", Audience.MANAGER, w.branch_a)


async def _plans(db: Any, sql: str, args: list[Any]) -> tuple[int, int]:
    async with native.read_connection(db) as conn:
        for _ in range(10):
            await conn.fetch(sql, *args)
        row = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", sql
        )
    assert row is not None, "the statement was not prepared on this connection"
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_a_managers_list_keeps_its_generic_plan(db, shape: str) -> None:
    me = await _skewed_scope(db)
    sql, args = service.list_query(me, filters=SHAPES[shape], limit=50, today=clock.today())
    generic, custom = await _plans(db, sql, args)
    assert custom == 5 and generic >= 5, f"{shape}: planned with its values {custom} times"


async def test_a_managers_overdue_tasks_keep_their_generic_plan(db) -> None:
    me = await _skewed_scope(db)
    sql, args = tasks_service.list_query(me, view="overdue", today=clock.today())
    generic, custom = await _plans(db, sql, args)
    assert custom == 5 and generic >= 5, f"planned with its values {custom} times"
