"""Plan change (套餐升级/降档) for the customer, or by a manager on the customer's behalf.

An upgrade (a dearer plan) takes effect at once when programme setting `plan_change.upgrade_
immediately` says so, otherwise on the 1st of next billing month, like every downgrade. Rules:
the target is an active plan other than the current one; no downgrade while a minimum-term
contract runs (`min_term_months` of an active subscription). The change is a `plan_changes` row
(source_ref `app:<customer>:<key>`, once per key), the feed the engine reads; an immediate one also
sets `customers.plan_id` (status `applied`). A next-month one is `scheduled`: the daily job
`plan_changes.apply` (`apply_due`, shortly after local midnight) sets `customers.plan_id` once its
`changed_at` has come, set-based per customer-id chunk; a missed day catches up, a rerun finds
nothing scheduled. Until then the customer may withdraw it (`cancel`), and a new request
supersedes it (both: status `cancelled`, never applied).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.business.orders import NotEligible, add_months
from shared.db.chunks import id_chunks
from shared.db.locking import Lock, advisory_lock
from shared.db.transactions import own_transaction
from shared.errors import Conflict, NotFound
from shared.models import Customer, PlanChange, Product, ProductKind, Subscription
from shared.programme import settings as programme_settings


def _ref(customer_id: int, key: str) -> str:
    return f"app:{customer_id}:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _out(change: PlanChange, direction: str, immediate: bool) -> dict[str, Any]:
    return {
        "id": change.id,
        "from_plan_id": change.from_plan_id,
        "to_plan_id": change.to_plan_id,
        "direction": direction,
        "effective_at": change.changed_at,
        "immediate": immediate,
        "channel": change.channel,
        "status": change.status,
    }


async def _in_minimum_term(session: AsyncSession, customer_id: int) -> bool:
    today = clock.today()
    rows = (
        await session.execute(
            select(Subscription.starts_on, Product.eligibility)
            .join(Product, Product.id == Subscription.product_id)
            .where(Subscription.customer_id == customer_id, Subscription.status == "active")
        )
    ).all()
    return any(
        int((rules or {}).get("min_term_months") or 0) and today < add_months(starts, int(rules["min_term_months"]))
        for starts, rules in rows
    )


async def change_plan(
    session: AsyncSession, *, customer_id: int, to_plan_id: int, key: str, channel: str
) -> dict[str, Any]:
    """Record the plan change once per (customer, key). Raises NotFound, NotEligible (409, reasons)."""
    ref = _ref(customer_id, key)
    await advisory_lock(session, Lock.ORDERS, customer_id)
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    target = await session.get(Product, to_plan_id)
    if target is None or target.kind != ProductKind.PLAN:
        raise NotFound("plan not found", plan_id=to_plan_id)
    current = await session.get(Product, customer.plan_id) if customer.plan_id else None
    direction = "upgrade" if current is None or target.monthly_fee_fen > current.monthly_fee_fen else "downgrade"
    if (done := await session.scalar(select(PlanChange).where(PlanChange.source_ref == ref))) is not None:
        return _out(done, direction, done.changed_at <= clock.now())
    problems: list[str] = []
    if not target.active:
        problems.append("not_orderable")
    if customer.status != "active":
        problems.append("customer_not_active")
    if current is not None and current.id == target.id:
        problems.append("already_on_plan")
    if direction == "downgrade" and await _in_minimum_term(session, customer_id):
        problems.append("in_minimum_term")
    if problems:
        raise NotEligible("you are not eligible for this plan change", reasons=problems, plan_id=to_plan_id)
    rule = await programme_settings.get(session, programme_settings.PLAN_CHANGE)
    immediate = direction == "upgrade" and bool(rule.get("upgrade_immediately", True))
    next_month = add_months(clock.month_start(clock.today()), 1)
    effective = clock.now() if immediate else clock.local_midnight(next_month)
    # a new request supersedes a change still waiting for its month (it would undo this one)
    await session.execute(
        update(PlanChange)
        .where(PlanChange.customer_id == customer_id, PlanChange.status == "scheduled")
        .values(status="cancelled", cancelled_at=clock.now())
    )
    change = PlanChange(
        source_ref=ref,
        customer_id=customer_id,
        changed_at=effective,
        from_plan_id=current.id if current else None,
        to_plan_id=target.id,
        channel=channel,
        status="applied" if immediate else "scheduled",
    )
    session.add(change)
    await session.flush()
    if immediate:
        await session.execute(update(Customer).where(Customer.id == customer_id).values(plan_id=target.id))
    return _out(change, direction, immediate)


class AlreadyEffective(Conflict):
    code = "plan_change_effective"


async def cancel(session: AsyncSession, *, customer_id: int, change_id: int) -> dict[str, Any]:
    """Withdraw the customer's scheduled change before its month starts (a repeat returns it).

    Raises NotFound (not theirs), AlreadyEffective (409: applied, or immediate).
    """
    await advisory_lock(session, Lock.ORDERS, customer_id)
    change = await session.scalar(
        select(PlanChange)
        .where(PlanChange.id == change_id, PlanChange.customer_id == customer_id)
        .with_for_update()  # the apply job's UPDATE of this row waits, then skips it
    )
    if change is None:
        raise NotFound("plan change not found", plan_change_id=change_id)
    if change.status == "applied":
        raise AlreadyEffective(
            "the plan change took effect on {effective_at}; change the plan again instead",
            effective_at=change.changed_at.isoformat(),
            plan_change_id=change_id,
        )
    if change.status == "scheduled":
        change.status = "cancelled"
        change.cancelled_at = clock.now()
        await session.flush()
    direction = "downgrade"
    if change.from_plan_id is not None:
        fees = dict(
            (
                await session.execute(
                    select(Product.id, Product.monthly_fee_fen).where(
                        Product.id.in_([change.from_plan_id, change.to_plan_id])
                    )
                )
            ).all()
        )
        if fees.get(change.to_plan_id, 0) > fees.get(change.from_plan_id, 0):
            direction = "upgrade"
    return _out(change, direction, False)


# One chunk: every scheduled change due by :due becomes `applied`; each customer's latest one sets
# the plan. A change cancelled meanwhile no longer matches `status = 'scheduled'` when the UPDATE
# re-reads its row, so it is never applied.
_APPLY = text(
    """
    WITH due AS (
        UPDATE plan_changes pc SET status = 'applied'
        WHERE pc.status = 'scheduled' AND pc.changed_at <= :due
          AND pc.customer_id > :lo AND pc.customer_id <= :hi
        RETURNING pc.id, pc.customer_id, pc.to_plan_id, pc.changed_at
    ),
    latest AS (
        SELECT DISTINCT ON (customer_id) customer_id, to_plan_id
        FROM due ORDER BY customer_id, changed_at DESC, id DESC
    ),
    moved AS (
        UPDATE customers c SET plan_id = l.to_plan_id, updated_at = now()
        FROM latest l
        WHERE c.id = l.customer_id AND c.plan_id IS DISTINCT FROM l.to_plan_id
        RETURNING c.id
    )
    SELECT (SELECT count(*) FROM due) AS applied, (SELECT count(*) FROM moved) AS moved
    """
)


async def apply_due(
    sm: async_sessionmaker[AsyncSession], *, day: date | None = None, chunk: int = 50_000
) -> dict[str, Any]:
    """Apply every scheduled plan change effective by the start of `day` (local; default today).

    Set-based, one transaction per customer-id chunk (a crash keeps the chunks done; the rest
    are still `scheduled` for the retry). Idempotent: an applied row is not selected again.
    """
    day = day or clock.today()
    due = clock.local_midnight(day)
    applied = moved = 0
    async with own_transaction(sm) as s:
        first = await s.scalar(
            text("SELECT 1 FROM plan_changes WHERE status = 'scheduled' AND changed_at <= :due LIMIT 1"), {"due": due}
        )
        bounds = await id_chunks(s, table="customers", size=chunk) if first else []
    for lo, hi in bounds:
        async with own_transaction(sm) as s:
            row = (await s.execute(_APPLY, {"due": due, "lo": lo, "hi": hi})).one()
        applied += int(row.applied)
        moved += int(row.moved)
    return {"day": day.isoformat(), "applied": applied, "plans_changed": moved, "chunks": len(bounds)}
