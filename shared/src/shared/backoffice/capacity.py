"""Manager capacity per branch (issue 14 item 10): high-value customers the assignment stage
selects, how many of them have a manager, and the managers' room. The back office reads it
(GET /v1/assignments/capacity, the admin /metrics gauge) instead of a log line, then raises a
manager's capacity or moves customers.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.programme import settings as programme_settings

UNASSIGNED = Gauge(
    "tenure_high_value_unassigned", "High-value customers without an account manager, by branch", ["branch_id"]
)

# The assignment stage's selection (shared.engine.assignment._TARGET): who counts as high value.
_HIGH_VALUE = """
    c.branch_id IS NOT NULL AND c.status = 'active'
    AND (c.tier IN ('star5', 'gold', 'diamond') OR f.arpu_fen >= :min_arpu_fen
         OR (p.risk_level = 'high' AND f.arpu_fen >= :min_arpu_fen / 2))
"""

# ... counted per branch.
_COVERAGE = text(
    f"""
    WITH target AS (
        SELECT c.branch_id, (a.customer_id IS NOT NULL) AS assigned
        FROM customer_features f
        JOIN customers c ON c.id = f.customer_id
        LEFT JOIN customer_profiles p ON p.customer_id = f.customer_id
        LEFT JOIN manager_assignments a ON a.customer_id = f.customer_id
        WHERE {_HIGH_VALUE}
          AND (CAST(:branch AS int) IS NULL OR c.branch_id = CAST(:branch AS int))
    ),
    per_branch AS (
        SELECT branch_id, count(*) AS high_value, count(*) FILTER (WHERE assigned) AS assigned
        FROM target GROUP BY branch_id
    ),
    staff AS (
        SELECT s.org_unit_id AS branch_id, count(*) AS managers, sum(s.capacity) AS capacity,
               sum((SELECT count(*) FROM manager_assignments m WHERE m.manager_id = s.id)) AS load
        FROM staff_users s
        WHERE s.role = 'account_manager' AND s.active
          AND (CAST(:branch AS int) IS NULL OR s.org_unit_id = CAST(:branch AS int))
        GROUP BY s.org_unit_id
    )
    SELECT b.branch_id, o.name AS branch_name, b.high_value, b.assigned, b.high_value - b.assigned AS unassigned,
           coalesce(st.managers, 0) AS managers, coalesce(st.capacity, 0) AS capacity, coalesce(st.load, 0) AS load
    FROM per_branch b
    LEFT JOIN staff st ON st.branch_id = b.branch_id
    LEFT JOIN org_units o ON o.id = b.branch_id
    ORDER BY b.high_value - b.assigned DESC, b.branch_id
    """
)

# ... listed for one branch: the high-value customers without a manager, by id (keyset).
_UNASSIGNED = text(
    f"""
    SELECT c.id AS customer_id, c.name, c.phone, c.tier, f.arpu_fen, p.risk_level
    FROM customer_features f
    JOIN customers c ON c.id = f.customer_id
    LEFT JOIN customer_profiles p ON p.customer_id = f.customer_id
    WHERE {_HIGH_VALUE}
      AND c.branch_id = :branch AND c.id > :after
      AND NOT EXISTS (SELECT 1 FROM manager_assignments a WHERE a.customer_id = c.id)
    ORDER BY c.id
    LIMIT :limit
    """
)

# The branch's active account managers with their room (capacity - load).
_MANAGERS = text(
    """
    SELECT s.id, s.username, s.full_name, s.capacity,
           (SELECT count(*) FROM manager_assignments m WHERE m.manager_id = s.id) AS load
    FROM staff_users s
    WHERE s.role = 'account_manager' AND s.active AND s.org_unit_id = :branch
    ORDER BY s.capacity - (SELECT count(*) FROM manager_assignments m WHERE m.manager_id = s.id) DESC, s.id
    """
)


@dataclass(frozen=True)
class BranchCapacity:
    branch_id: int
    branch_name: str | None
    high_value: int
    assigned: int
    unassigned: int
    managers: int
    capacity: int
    load: int


async def by_branch(session: AsyncSession, *, branch: int | None = None) -> list[BranchCapacity]:
    """One row per branch with high-value customers, most unassigned first."""
    cfg = await programme_settings.get(session, programme_settings.ASSIGNMENT)
    rows = (await session.execute(_COVERAGE, {"branch": branch, "min_arpu_fen": int(cfg["min_arpu_fen"])})).all()
    return [
        BranchCapacity(
            branch_id=int(r.branch_id),
            branch_name=r.branch_name,
            high_value=int(r.high_value),
            assigned=int(r.assigned),
            unassigned=int(r.unassigned),
            managers=int(r.managers),
            capacity=int(r.capacity),
            load=int(r.load),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Unassigned:
    customer_id: int
    name: str | None
    phone: str | None
    tier: str | None
    arpu_fen: int
    risk_level: str | None


@dataclass(frozen=True)
class ManagerRoom:
    id: int
    username: str
    full_name: str
    capacity: int
    load: int


async def unassigned(session: AsyncSession, *, branch_id: int, after: int = 0, limit: int = 50) -> list[Unassigned]:
    """The branch's high-value customers without a manager (what `unassigned` counts), by id."""
    cfg = await programme_settings.get(session, programme_settings.ASSIGNMENT)
    rows = await session.execute(
        _UNASSIGNED, {"branch": branch_id, "after": after, "limit": limit, "min_arpu_fen": int(cfg["min_arpu_fen"])}
    )
    return [
        Unassigned(
            customer_id=int(r.customer_id),
            name=r.name,
            phone=r.phone,
            tier=r.tier,
            arpu_fen=int(r.arpu_fen or 0),
            risk_level=r.risk_level,
        )
        for r in rows
    ]


async def managers(session: AsyncSession, *, branch_id: int) -> list[ManagerRoom]:
    """The branch's active account managers, most room first."""
    rows = await session.execute(_MANAGERS, {"branch": branch_id})
    return [
        ManagerRoom(
            id=int(r.id), username=r.username, full_name=r.full_name, capacity=int(r.capacity), load=int(r.load)
        )
        for r in rows
    ]


async def refresh_gauge(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s:
        rows = await by_branch(s)
    UNASSIGNED.clear()
    for r in rows:
        UNASSIGNED.labels(branch_id=str(r.branch_id)).set(r.unassigned)
