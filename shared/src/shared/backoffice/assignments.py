"""Manual manager assignments: view who owns which customer, move customers by hand, keep the reason.

The current assignments are locked first (ascending customer id), then one statement upserts the
new owner only where it differs and writes one assignment_history row per customer actually moved
(from, to, reason, actor). Re-sending the same move changes nothing and writes no history.
Concurrent moves of the same customer serialise on those row locks, and the move statement's
fresh snapshot then records the owner the first move left.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principals import is_account_manager
from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import AssignmentHistory, Customer, ManagerAssignment, StaffUser

_MOVE = text(
    """
    WITH old AS (
        SELECT customer_id, manager_id FROM manager_assignments WHERE customer_id = ANY(:ids)
    ), moved AS (
        INSERT INTO manager_assignments (customer_id, manager_id, reason)
        SELECT unnest(CAST(:ids AS bigint[])), :to, :reason
        ON CONFLICT (customer_id) DO UPDATE SET manager_id = EXCLUDED.manager_id, reason = EXCLUDED.reason
        WHERE manager_assignments.manager_id IS DISTINCT FROM EXCLUDED.manager_id
        RETURNING customer_id
    )
    INSERT INTO assignment_history (customer_id, from_manager_id, to_manager_id, reason, actor_id)
    SELECT moved.customer_id, old.manager_id, :to, :reason, :actor
    FROM moved LEFT JOIN old USING (customer_id)
    RETURNING customer_id, from_manager_id
    """
)
_UNASSIGN = text(
    """
    WITH gone AS (
        DELETE FROM manager_assignments WHERE customer_id = ANY(:ids) RETURNING customer_id, manager_id
    )
    INSERT INTO assignment_history (customer_id, from_manager_id, to_manager_id, reason, actor_id)
    SELECT customer_id, manager_id, NULL, :reason, :actor FROM gone
    RETURNING customer_id, from_manager_id
    """
)


@dataclass(frozen=True, slots=True)
class MoveResult:
    moved: list[int]
    unchanged: list[int]
    from_managers: dict[int, int | None]
    manager_load: int | None


async def _lock(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(
        select(ManagerAssignment.customer_id)
        .where(ManagerAssignment.customer_id.in_(ids))
        .order_by(ManagerAssignment.customer_id)
        .with_for_update()
    )


async def _check_customers(session: AsyncSession, ids: list[int], branch: int | None) -> None:
    stmt = select(Customer.id).where(Customer.id.in_(ids))
    if branch is not None:
        stmt = stmt.where(Customer.branch_id == branch)
    found = set((await session.scalars(stmt)).all())
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFound("customer not found", ids=missing[:20])


async def reassign(
    session: AsyncSession,
    *,
    customer_ids: list[int],
    to_manager_id: int,
    reason: str,
    actor_id: int,
    branch: int | None = None,
    force: bool = False,
) -> MoveResult:
    """Move customers to an active account manager (in `branch` when a branch head moves them).

    Raises NotFound (customer or manager outside scope), Unprocessable (not an active account
    manager), Conflict (the manager would exceed capacity and `force` is not set).
    """
    ids = sorted(set(customer_ids))
    manager = await session.get(StaffUser, to_manager_id)
    if manager is None or (branch is not None and manager.org_unit_id != branch):
        raise NotFound("manager not found", id=to_manager_id)
    if not is_account_manager(manager) or not manager.active:
        raise Unprocessable("customers can only be assigned to an active account manager", id=to_manager_id)
    await _check_customers(session, ids, branch)
    # Lock the manager row: concurrent moves to one manager cannot both pass the capacity check.
    await session.execute(select(StaffUser.id).where(StaffUser.id == to_manager_id).with_for_update())
    load = await session.scalar(select(func.count()).where(ManagerAssignment.manager_id == to_manager_id)) or 0
    already = (
        await session.scalar(
            select(func.count()).where(
                ManagerAssignment.manager_id == to_manager_id, ManagerAssignment.customer_id.in_(ids)
            )
        )
        or 0
    )
    new_load = load + len(ids) - already
    if new_load > manager.capacity and not force:
        raise Conflict("the manager would exceed capacity", capacity=manager.capacity, load_after=new_load)
    await _lock(session, ids)
    rows = (await session.execute(_MOVE, {"ids": ids, "to": to_manager_id, "reason": reason, "actor": actor_id})).all()
    moved = {r.customer_id: r.from_manager_id for r in rows}
    return MoveResult(
        moved=sorted(moved),
        unchanged=[i for i in ids if i not in moved],
        from_managers=moved,
        manager_load=new_load,
    )


async def unassign(
    session: AsyncSession, *, customer_ids: list[int], reason: str, actor_id: int, branch: int | None = None
) -> MoveResult:
    ids = sorted(set(customer_ids))
    await _check_customers(session, ids, branch)
    await _lock(session, ids)
    rows = (await session.execute(_UNASSIGN, {"ids": ids, "reason": reason, "actor": actor_id})).all()
    moved = {r.customer_id: r.from_manager_id for r in rows}
    return MoveResult(sorted(moved), [i for i in ids if i not in moved], moved, None)


async def list_assignments(
    session: AsyncSession,
    *,
    manager_id: int | None = None,
    customer_id: int | None = None,
    branch: int | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[tuple[ManagerAssignment, Customer, StaffUser]]:
    stmt = (
        select(ManagerAssignment, Customer, StaffUser)
        .join(Customer, Customer.id == ManagerAssignment.customer_id)
        .join(StaffUser, StaffUser.id == ManagerAssignment.manager_id)
        .where(ManagerAssignment.customer_id > after)
        .order_by(ManagerAssignment.customer_id)
        .limit(limit)
    )
    if manager_id is not None:
        stmt = stmt.where(ManagerAssignment.manager_id == manager_id)
    if customer_id is not None:
        stmt = stmt.where(ManagerAssignment.customer_id == customer_id)
    if branch is not None:
        stmt = stmt.where(Customer.branch_id == branch)
    return [(a, c, s) for a, c, s in (await session.execute(stmt)).all()]


async def history(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    manager_id: int | None = None,
    branch: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AssignmentHistory]:
    stmt = select(AssignmentHistory).order_by(AssignmentHistory.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AssignmentHistory.id < before)
    if customer_id is not None:
        stmt = stmt.where(AssignmentHistory.customer_id == customer_id)
    if manager_id is not None:
        stmt = stmt.where(
            (AssignmentHistory.from_manager_id == manager_id) | (AssignmentHistory.to_manager_id == manager_id)
        )
    if branch is not None:
        stmt = stmt.join(Customer, Customer.id == AssignmentHistory.customer_id).where(Customer.branch_id == branch)
    return list((await session.scalars(stmt)).all())
