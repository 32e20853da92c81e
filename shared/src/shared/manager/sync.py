"""Mobile sync: what changed for me since my cursor — tasks, customers, portraits.

Each kind has its own keyset position `(updated_at, id)`, so rows sharing one timestamp (the
nightly engine stamps thousands with the same `now()`) are paged exactly. Rows are only returned
up to a high-water mark: the start of the oldest transaction still open in this database (or
now). A row committed later carries a timestamp at or after its transaction's start, hence
after the mark, so it is picked up by a later sync instead of being skipped. Rows may come
twice across syncs; the client upserts by id.

Scope: tasks via `scoping.task_visible`; customers and profiles via `scoping.scope_customers`
(for a manager: `manager_assignments(manager_id)` then primary keys; a newly assigned customer
counts as changed at its assignment time). Customers handed to someone else since the cursor
are listed in `removed_customer_ids` (from `assignment_history`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import SQLColumnExpression, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import scoping
from shared.auth.principals import Principal, is_account_manager
from shared.manager import cursor
from shared.manager.tasks import task_out
from shared.masking import mask_name, mask_phone
from shared.models import AssignmentHistory, CareTask, Customer, CustomerProfile, ManagerAssignment

EPOCH = "1970-01-01T00:00:00+00:00"
_HIGH_WATER = text(
    """
    SELECT least(now(), coalesce(min(xact_start), now())) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
    """
)


# The cursor holds one keyset position per kind: tasks, customers, portraits.
_SHAPE = (cursor.DATETIME, cursor.INT) * 3
_START = (datetime.fromisoformat(EPOCH), 0)


def _after(col_t: Any, col_id: Any, pos: tuple[datetime, int]) -> Any:
    return or_(col_t > pos[0], and_(col_t == pos[0], col_id > pos[1]))


async def changes(
    session: AsyncSession, principal: Principal, *, after: str | None, limit: int = 200
) -> dict[str, Any]:
    raw = cursor.decode(after, "sync", _SHAPE) or [*_START] * 3
    hwm = await session.scalar(_HIGH_WATER)
    t_pos, c_pos, p_pos = (raw[0], raw[1]), (raw[2], raw[3]), (raw[4], raw[5])

    tasks = (
        await session.scalars(
            select(CareTask)
            .where(
                scoping.task_visible(principal),
                CareTask.updated_at < hwm,
                _after(CareTask.updated_at, CareTask.id, t_pos),
            )
            .order_by(CareTask.updated_at, CareTask.id)
            .limit(limit)
        )
    ).all()

    changed_at: SQLColumnExpression[datetime]
    if is_account_manager(principal):
        changed_at = func.greatest(Customer.updated_at, ManagerAssignment.created_at)
    else:
        changed_at = Customer.updated_at
    cust_stmt = scoping.scope_customers(
        select(Customer, changed_at.label("changed_at")).select_from(Customer), principal
    )
    customers = (
        await session.execute(
            cust_stmt.where(changed_at < hwm, _after(changed_at, Customer.id, c_pos))
            .order_by(changed_at, Customer.id)
            .limit(limit)
        )
    ).all()

    prof_stmt = scoping.scope_customers(
        select(CustomerProfile).select_from(Customer).join(CustomerProfile, CustomerProfile.customer_id == Customer.id),
        principal,
    )
    profiles = (
        await session.scalars(
            prof_stmt.where(
                CustomerProfile.updated_at < hwm,
                _after(CustomerProfile.updated_at, CustomerProfile.customer_id, p_pos),
            )
            .order_by(CustomerProfile.updated_at, CustomerProfile.customer_id)
            .limit(limit)
        )
    ).all()

    removed: list[int] = []
    if is_account_manager(principal):
        since = c_pos[0]
        removed = list(
            (
                await session.scalars(
                    select(AssignmentHistory.customer_id)
                    .where(
                        AssignmentHistory.from_manager_id == principal.id,
                        AssignmentHistory.created_at > since,
                        AssignmentHistory.created_at < hwm,
                        ~scoping.customer_visible(principal, AssignmentHistory.customer_id),
                    )
                    .distinct()
                )
            ).all()
        )

    def nxt(rows: list[Any], pos: tuple[datetime, int], getter: Any) -> list[Any]:
        if len(rows) == limit:
            t, i = getter(rows[-1])
            return [t.isoformat(), i]
        # caught up: jump to the high-water mark (anything later is strictly after it)
        return [hwm.isoformat(), 0] if hwm > pos[0] else [pos[0].isoformat(), pos[1]]

    new_state = [
        *nxt(list(tasks), t_pos, lambda t: (t.updated_at, t.id)),
        *nxt(list(customers), c_pos, lambda r: (r.changed_at, r.Customer.id)),
        *nxt(list(profiles), p_pos, lambda p: (p.updated_at, p.customer_id)),
    ]
    more = any(len(x) == limit for x in (tasks, customers, profiles))
    return {
        "tasks": [task_out(t) for t in tasks],
        "customers": [
            {
                "id": r.Customer.id,
                "name": mask_name(r.Customer.name),
                "phone": mask_phone(r.Customer.phone),
                "tier": r.Customer.tier,
                "status": r.Customer.status,
                "do_not_disturb": r.Customer.do_not_disturb,
                "birthday_month": r.Customer.birthday.month if r.Customer.birthday else None,
                "changed_at": r.changed_at,
            }
            for r in customers
        ],
        "portraits": [
            {
                "customer_id": p.customer_id,
                "lifecycle_stage": p.lifecycle_stage,
                "segment": p.segment,
                "sub_segment": p.sub_segment,
                "risk_level": p.risk_level,
                "churn_score": p.churn_score,
                "top_factors": list(p.top_factors or [])[:5],
                "four_high": list(p.four_high or []),
                "preferred_channel": p.preferred_channel,
                "arpu_fen": p.arpu_fen,
                "updated_at": p.updated_at,
            }
            for p in profiles
        ],
        "removed_customer_ids": removed,
        "next_cursor": cursor.encode("sync", new_state),
        "has_more": more,
    }
