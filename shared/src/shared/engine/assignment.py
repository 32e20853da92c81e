"""Manager assignment: high-value customers (VIP tiers, high ARPU, high risk with good ARPU) to
the account managers of their branch, 300–500 each (staff capacity clamped to that range),
balanced within the branch and stable from run to run.

A customer keeps their manager unless there is a reason, each written to assignment_history:
they left the target set, the manager left (inactive, another role or branch), or the manager
is over capacity (the least valuable extras are released and re-placed). Manual assignments
(reason not starting with 'engine') are kept even outside the target set.
"""

from __future__ import annotations

from sqlalchemy import text

from shared.db.locking import Lock, advisory_lock
from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine.jobs import RunContext, sql, tune
from shared.programme import settings as programme_settings

_TARGET = """
CREATE TEMP TABLE engine_assign_target ON COMMIT DROP AS
SELECT f.customer_id, c.branch_id,
       f.arpu_fen + CASE WHEN c.tier IN ('star5', 'gold', 'diamond') THEN 1000000 ELSE 0 END
                  + CASE WHEN p.risk_level = 'high' THEN 500000 ELSE 0 END AS value
FROM customer_features f
JOIN customers c ON c.id = f.customer_id
LEFT JOIN customer_profiles p ON p.customer_id = f.customer_id
WHERE c.branch_id IS NOT NULL AND c.status = 'active'
  AND (c.tier IN ('star5', 'gold', 'diamond') OR f.arpu_fen >= :min_arpu_fen
       OR (p.risk_level = 'high' AND f.arpu_fen >= :min_arpu_fen / 2))
"""
_RELEASE = """
WITH gone AS (
    DELETE FROM manager_assignments a
    USING customers c, staff_users s
    WHERE c.id = a.customer_id AND s.id = a.manager_id
      AND (
        (a.reason LIKE 'engine%' AND NOT EXISTS (SELECT 1 FROM engine_assign_target t WHERE t.customer_id = a.customer_id))
        OR c.status = 'churned'
        OR NOT s.active OR s.role <> 'account_manager' OR s.org_unit_id IS DISTINCT FROM c.branch_id
      )
    RETURNING a.customer_id, a.manager_id,
      CASE WHEN c.status = 'churned' THEN 'engine: customer left'
           WHEN NOT s.active OR s.role <> 'account_manager' THEN 'engine: manager gone'
           WHEN s.org_unit_id IS DISTINCT FROM c.branch_id THEN 'engine: branch changed'
           ELSE 'engine: left high-value set' END AS reason
)
INSERT INTO assignment_history (customer_id, from_manager_id, to_manager_id, reason)
SELECT customer_id, manager_id, NULL, reason FROM gone
"""
_OVERLOAD = """
WITH ranked AS (
    SELECT a.customer_id, a.manager_id,
           row_number() OVER (PARTITION BY a.manager_id
                              ORDER BY coalesce(t.value, 2147483647) DESC, a.created_at, a.customer_id) AS rn,
           least(greatest(s.capacity, :min_per_manager), :max_per_manager) AS cap
    FROM manager_assignments a
    JOIN staff_users s ON s.id = a.manager_id
    LEFT JOIN engine_assign_target t ON t.customer_id = a.customer_id
),
gone AS (
    DELETE FROM manager_assignments a USING ranked r
    WHERE r.customer_id = a.customer_id AND r.rn > r.cap
    RETURNING a.customer_id, a.manager_id
)
INSERT INTO assignment_history (customer_id, from_manager_id, to_manager_id, reason)
SELECT customer_id, manager_id, NULL, 'engine: manager over capacity' FROM gone
"""


async def run(ctx: RunContext) -> int:
    async with own_transaction(ctx.sm) as s:
        # One short transaction: the target set is a few percent of customers; the transaction
        # advisory lock keeps two assignment passes from interleaving.
        await advisory_lock(s, Lock.ASSIGNMENT)
        await tune(s)
        cfg = await programme_settings.get(s, "assignment")
        params = {"min_per_manager": int(cfg["min_per_manager"]), "max_per_manager": int(cfg["max_per_manager"])}
        await s.execute(text(_TARGET), {"min_arpu_fen": int(cfg["min_arpu_fen"])})
        released = rowcount(await s.execute(text(_RELEASE)))
        overloaded = rowcount(await s.execute(text(_OVERLOAD), params))
        assigned = rowcount(await s.execute(text(sql("assign_fill")), params))
        unplaced = await s.scalar(
            text(
                "SELECT count(*) FROM engine_assign_target t "
                "WHERE NOT EXISTS (SELECT 1 FROM manager_assignments a WHERE a.customer_id = t.customer_id)"
            )
        )
    ctx.notes["assignment"] = {
        "released": released,
        "over_capacity": overloaded,
        "assigned": assigned,
        "unplaced": int(unplaced or 0),
    }
    return released + overloaded + assigned
