"""Recording one contact with a customer: contact pressure, the offer, the touch, the record.

`record_contact` is the single path for a task completion, an ad-hoc call or visit and a hall
walk-in, so every contact is tracked the same way. Order matters: contact pressure is checked
first (a refused contact writes nothing), then the order is placed (eligibility and the balance
charge through the ledger may refuse it), then the touch and the `manager_contacts` row are
written — all in the caller's transaction, so they commit or vanish together. Every write is
keyed, so a retry of the same request cannot double anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principals import Principal
from shared.business import plan_change
from shared.business.orders import place_order
from shared.errors import Unprocessable
from shared.models import CareTask, Customer, ManagerContact, Product, ProductKind
from shared.touches.outcomes import normalise
from shared.touches.service import check_contact_pressure, record_touch

OUTCOMES = ("reached", "no_answer", "accepted_offer", "refused", "complaint", "wrong_number")
"""What staff record (shared.touches.outcomes; `accepted_offer` is a successful touch, its order credited to it)."""
STAFF_CHANNELS = ("manager_call", "manager_visit", "outbound_call", "sms", "hall")
INBOUND_CHANNELS = frozenset({"hall"})
"""A walk-in came to us: contact-pressure caps, which protect customers from outbound pushes,
are not applied to serving them (the touch is still recorded and counts for later checks)."""


@dataclass(frozen=True, slots=True)
class ContactInput:
    channel: str
    outcome: str
    notes: str | None = None
    product_id: int | None = None
    consent_ref: str | None = None
    benefits_explained: bool = False
    satisfaction: int | None = None


def short_key(*parts: object) -> str:
    """A stable key under 40 characters derived from arbitrary parts (keys have column limits)."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def validate(data: ContactInput) -> ContactInput:
    """The input with its outcome in stored form (`not_reached` → `no_answer`); raises Unprocessable."""
    data = replace(data, outcome=normalise(data.outcome))
    if data.outcome not in OUTCOMES:
        raise Unprocessable("unknown outcome", outcome=data.outcome, allowed=list(OUTCOMES))
    if data.channel not in STAFF_CHANNELS:
        raise Unprocessable("unknown channel", channel=data.channel, allowed=list(STAFF_CHANNELS))
    if data.outcome == "accepted_offer":
        if data.product_id is None:
            raise Unprocessable("an accepted offer needs the product_id")
        if not data.consent_ref:
            raise Unprocessable("placing an offer for the customer needs their recorded consent (consent_ref)")
    elif data.product_id is not None:
        raise Unprocessable("product_id is only allowed with outcome accepted_offer")
    return data


async def ensure_contact_allowed(session: AsyncSession, *, customer_id: int, channel: str) -> None:
    """Raises Conflict (409) with the engine's reason when this contact would break the rules."""
    if channel in INBOUND_CHANNELS:
        return
    await check_contact_pressure(session, customer_id=customer_id, channel=channel)


async def record_contact(
    session: AsyncSession,
    principal: Principal,
    *,
    customer: Customer,
    data: ContactInput,
    key: str,
    task: CareTask | None = None,
    check_pressure: bool = True,
) -> ManagerContact:
    """Check pressure, place any offer, record the touch and the contact; returns the contact.

    `customer` must already have been scoped by the caller. `key` must be unique per logical
    contact (a task id, or a digest of principal and Idempotency-Key); the order and the touch
    derive their own keys from it. `check_pressure=False` only for contacts the customer asked
    for (an order they requested with consent): caps protect against pushes, not service.
    """
    data = validate(data)
    if check_pressure:
        await ensure_contact_allowed(session, customer_id=customer.id, channel=data.channel)
    subscription_id = None
    target = await session.get(Product, data.product_id) if data.product_id is not None else None
    if target is not None and target.kind == ProductKind.PLAN:  # the four-high ARPU remedy: 套餐优化
        await plan_change.change_plan(
            session, customer_id=customer.id, to_plan_id=target.id, key=f"{key}:plan", channel="manager"
        )
    elif data.product_id is not None:
        subscription = await place_order(
            session,
            customer_id=customer.id,
            product_id=data.product_id,
            key=f"{key}:order",
            channel="hall" if data.channel == "hall" else "manager",
            staff_id=principal.id,
            consent_ref=data.consent_ref,
        )
        subscription_id = subscription.id
    touch = await record_touch(
        session,
        customer_id=customer.id,
        channel=data.channel,
        outcome=data.outcome,
        staff_id=principal.id,
        campaign_id=task.campaign_id if task else None,
        task_id=task.id if task else None,
        product_id=data.product_id,
        notes=data.notes,
        key=f"{key}:touch",
    )
    contact = ManagerContact(
        task_id=task.id if task else None,
        customer_id=customer.id,
        staff_id=principal.id,
        channel=data.channel,
        outcome=data.outcome,
        touch_id=touch.id,
        product_id=data.product_id,
        subscription_id=subscription_id,
        consent_ref=data.consent_ref,
        benefits_explained=data.benefits_explained,
        satisfaction=data.satisfaction,
    )
    session.add(contact)
    await session.flush()
    return contact
