"""Plan change (套餐升级/降档) for the customer, or by a manager on the customer's behalf.

An upgrade (a dearer plan) takes effect at once when programme setting `plan_change.upgrade_
immediately` says so, otherwise on the 1st of next billing month, like every downgrade. Rules:
the target is an active plan other than the current one; no downgrade while a minimum-term
contract runs (`min_term_months` of an active subscription). The change is a `plan_changes` row
(source_ref `app:<customer>:<key>`, once per key), the feed the engine reads; an immediate one also
sets `customers.plan_id`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.business.orders import NotEligible, add_months
from shared.db.locking import Lock, advisory_lock
from shared.errors import NotFound
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
    change = PlanChange(
        source_ref=ref,
        customer_id=customer_id,
        changed_at=effective,
        from_plan_id=current.id if current else None,
        to_plan_id=target.id,
        channel=channel,
    )
    session.add(change)
    await session.flush()
    if immediate:
        await session.execute(update(Customer).where(Customer.id == customer_id).values(plan_id=target.id))
    return _out(change, direction, immediate)
