"""Acting for the customer: the manager places an offer the customer agreed to.

Requires the customer's recorded consent (`consent_ref`: the call recording id, signed form…),
and goes through `shared.business.orders.place_order` — the same eligibility and balance rules
as the customer app — plus a touch (outcome `accepted_offer`) in the same transaction.
Idempotent per (principal, Idempotency-Key): the order and touch keys derive from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import scoping
from shared.auth.principals import Principal
from shared.manager.contacts import ContactInput, record_contact, short_key


async def place_for_customer(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: int,
    product_id: int,
    consent_ref: str,
    channel: str,
    notes: str | None,
    request_key: str,
) -> dict[str, Any]:
    customer = await scoping.get_visible_customer(session, principal, customer_id)
    contact = await record_contact(
        session,
        principal,
        customer=customer,
        data=ContactInput(
            channel=channel, outcome="accepted_offer", notes=notes, product_id=product_id, consent_ref=consent_ref
        ),
        key=f"order:{short_key(principal.subject, request_key)}",
        check_pressure=False,
    )
    return {
        "customer_id": customer.id,
        "product_id": product_id,
        "subscription_id": contact.subscription_id,
        "touch_id": contact.touch_id,
        "contact_id": contact.id,
        "consent_ref": consent_ref,
    }
