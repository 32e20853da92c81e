"""The hall counter (seed 002): a walk-in gives their number, the hall staff sees who they are,
what they need and what to offer with its selling points, and records how the visit went.

Lookups go through `scoping.lookup_walk_in` (full phone only, active customers only, audited
even when nobody is found). A visit outcome is recorded with channel `hall` through the same
`record_contact` path as a manager's call, so it is tracked like any other touch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record as audit
from shared.auth import scoping
from shared.auth.principals import Principal
from shared.errors import NotFound
from shared.manager import portrait
from shared.manager.contacts import ContactInput, record_contact, short_key

HALL_KEYS = (
    "id",
    "name",
    "phone",
    "gender",
    "tier",
    "tenure_months",
    "birthday_this_month",
    "contract_end",
    "plan",
    "subscriptions",
    "usage_trend",
    "tags",
    "lifecycle_stage",
    "stability_segment",
    "churn_warning",
    "four_high",
    "needs",
    "recommendations",
    "preferred_channel",
    "do_not_disturb",
    "open_tasks",
)


async def lookup(session: AsyncSession, principal: Principal, phone: str, *, ip: str | None) -> dict[str, Any] | None:
    """The counter view of the walk-in with this phone, or None (the audit row is written either way)."""
    customer = await scoping.lookup_walk_in(session, principal, phone, ip=ip)
    if customer is None:
        return None
    full = await portrait.build(session, customer, months=6, history=5)
    return {k: full[k] for k in HALL_KEYS}


async def record_visit(
    session: AsyncSession,
    principal: Principal,
    *,
    phone: str,
    data: ContactInput,
    request_key: str,
    ip: str | None,
) -> dict[str, Any]:
    """Record a hall visit outcome (and any offer the customer took, with their consent)."""
    customer = await scoping.lookup_walk_in(session, principal, phone, ip=ip)
    if customer is None:
        raise NotFound("customer not found")
    contact = await record_contact(
        session,
        principal,
        customer=customer,
        data=data,
        key=f"hall:{short_key(principal.subject, request_key)}",
    )
    await audit(
        session,
        principal=principal,
        action="counter.visit",
        object_kind="customer",
        object_id=customer.id,
        detail={"outcome": data.outcome, "contact_id": contact.id},
        ip=ip,
    )
    return {
        "contact_id": contact.id,
        "touch_id": contact.touch_id,
        "subscription_id": contact.subscription_id,
        "customer_id": customer.id,
        "outcome": contact.outcome,
    }
