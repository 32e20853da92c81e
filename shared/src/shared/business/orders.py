"""Ordering and cancelling add-ons (data/voice packs, memberships, contracts, broadband...).

Used by the customer app and, on the customer's behalf, by the manager app. Rules:
- Only active products of an orderable kind (everything but `plan`) can be ordered.
- Eligibility comes from `products.eligibility`: `min_tier`, `tiers`, `plan_ids`,
  `min_tenure_months`, `max_per_customer` (active subscriptions of that product), checked against
  the customer's tier, plan and join date. Refusals are Conflict (409) with `reason`.
- Charge now = one-time fee, plus the first month for packs and memberships (PREPAID_KINDS); it
  moves through the ledger from the customer's airtime account to `airtime:revenue` in the same
  transaction as the subscription row. Short balance → InsufficientFunds (402).
- Effective dates: packs and memberships start today; contracts and broadband start on the first
  day of next month. `duration_months` sets `ends_on`; otherwise the add-on recurs until cancelled.
- Idempotent per (customer, key): the same key returns the first subscription; with a different
  product it raises IdempotencyKeyReused. Orders of one customer are serialised by an advisory
  transaction lock, so `max_per_customer` cannot be raced.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.business import contracts
from shared.db.locking import Lock, advisory_lock
from shared.errors import Conflict, IdempotencyKeyReused, InsufficientFunds, NotFound
from shared.ledger import service as ledger
from shared.ledger.airtime import airtime_account, airtime_balance_fen
from shared.models import TIER_ORDER, Asset, Customer, Product, ProductKind, Subscription

ORDERABLE_KINDS = frozenset(k.value for k in ProductKind) - {ProductKind.PLAN.value}
PREPAID_KINDS = frozenset({ProductKind.DATA_PACK.value, ProductKind.VOICE_PACK.value, ProductKind.MEMBERSHIP.value})
NEXT_MONTH_KINDS = frozenset({ProductKind.CONTRACT.value, ProductKind.BROADBAND.value})
CHANNELS = frozenset({"app", "manager", "hall", "outbound_call", "sms", "campaign"})
SIGNATURE_KINDS = frozenset({ProductKind.CONTRACT.value, ProductKind.BROADBAND.value})


def needs_signature(product: Product) -> bool:
    """Whether taking this product needs the customer's signature in person (a contract, an
    installation): then an accepted offer goes to the account manager instead of being ordered by
    one tap or one SMS digit. `eligibility.requires_signature` overrides the kind's default."""
    flag = (product.eligibility or {}).get("requires_signature")
    return bool(flag) if isinstance(flag, bool) else product.kind in SIGNATURE_KINDS


class NotEligible(Conflict):
    code = "not_eligible"


class MinimumTerm(Conflict):
    code = "minimum_term"


def _store_key(key: str) -> str:
    """subscriptions.idempotency_key is 80 chars: long client keys are stored as a digest."""
    return key if len(key) <= 80 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:64]


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def charge_for(product: Product) -> int:
    return int(product.one_time_fee_fen) + (int(product.monthly_fee_fen) if product.kind in PREPAID_KINDS else 0)


def effective_dates(product: Product, today: date) -> tuple[date, date | None]:
    starts = add_months(today.replace(day=1), 1) if product.kind in NEXT_MONTH_KINDS else today
    ends = add_months(starts, product.duration_months) - timedelta(days=1) if product.duration_months else None
    return starts, ends


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)


async def eligibility_problems(
    session: AsyncSession, *, customer: Customer, product: Product, today: date
) -> list[str]:
    """Reasons the customer may not order the product (empty when eligible)."""
    rules = product.eligibility or {}
    problems: list[str] = []
    if not product.active or product.kind not in ORDERABLE_KINDS:
        problems.append("not_orderable")
    if customer.status != "active":
        problems.append("customer_not_active")
    tier_rank = TIER_ORDER.index(customer.tier) if customer.tier in TIER_ORDER else 0
    if (min_tier := rules.get("min_tier")) in TIER_ORDER and tier_rank < TIER_ORDER.index(min_tier):
        problems.append("tier_too_low")
    if isinstance(rules.get("tiers"), list) and rules["tiers"] and customer.tier not in rules["tiers"]:
        problems.append("tier_not_targeted")
    if isinstance(rules.get("plan_ids"), list) and rules["plan_ids"] and customer.plan_id not in rules["plan_ids"]:
        problems.append("plan_not_eligible")
    if (min_tenure := rules.get("min_tenure_months")) and _months_between(customer.join_date, today) < int(min_tenure):
        problems.append("tenure_too_short")
    if (cap := rules.get("max_per_customer")) is not None:
        held = await session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(
                Subscription.customer_id == customer.id,
                Subscription.product_id == product.id,
                Subscription.status == "active",
            )
        )
        if int(held or 0) >= int(cap):
            problems.append("already_subscribed")
    return problems


async def _replay(session: AsyncSession, *, customer_id: int, key: str, product_id: int) -> Subscription | None:
    sub = await session.scalar(
        select(Subscription).where(Subscription.customer_id == customer_id, Subscription.idempotency_key == key)
    )
    if sub is not None and sub.product_id != product_id:
        raise IdempotencyKeyReused("this order key was used for another product", key=key)
    return sub


async def place_order(
    session: AsyncSession,
    *,
    customer_id: int,
    product_id: int,
    key: str,
    channel: str,
    staff_id: int | None = None,
    consent_ref: str | None = None,
) -> Subscription:
    """Subscribe the customer to an add-on once per (customer, key); see the module docstring.

    Raises NotFound (customer or product), NotEligible (409, with `reasons`), InsufficientFunds
    (402), IdempotencyKeyReused (409).
    """
    key = _store_key(key)
    if (done := await _replay(session, customer_id=customer_id, key=key, product_id=product_id)) is not None:
        return done
    await advisory_lock(session, Lock.ORDERS, customer_id)
    if (done := await _replay(session, customer_id=customer_id, key=key, product_id=product_id)) is not None:
        return done
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("product not found", product_id=product_id)
    today = clock.today()
    if problems := await eligibility_problems(session, customer=customer, product=product, today=today):
        raise NotEligible("you are not eligible for this product", reasons=problems, product_id=product_id)
    starts, ends = effective_dates(product, today)
    charge = charge_for(product)
    sub = Subscription(
        customer_id=customer_id,
        product_id=product_id,
        status="active",
        starts_on=starts,
        ends_on=ends,
        channel=channel,
        placed_by_staff_id=staff_id,
        charge_fen=charge,
        idempotency_key=key,
    )
    session.add(sub)
    await session.flush()
    if charge > 0:
        acc = await airtime_account(session, customer_id)
        revenue = await ledger.system_account(session, "airtime:revenue")
        try:
            await ledger.transfer(
                session,
                key=f"order:{sub.id}",
                kind="order_charge",
                asset=Asset.AIRTIME,
                from_account=acc,
                to_account=revenue,
                amount=charge,
                customer_id=customer_id,
                reference=f"subscription:{sub.id}",
                actor=f"staff:{staff_id}" if staff_id else f"customer:{customer_id}",
                memo={"product_id": product_id, "channel": channel, "consent_ref": consent_ref},
            )
        except InsufficientFunds as exc:  # say what it costs and what there is (the caller rolls back)
            raise InsufficientFunds(
                "your balance is too low for this order",
                product_id=product_id,
                charge_fen=charge,
                balance_fen=await airtime_balance_fen(session, customer_id),
            ) from exc
    await contracts.write_schedule(session, sub=sub, product=product, today=today)
    return sub


async def cancel_order(session: AsyncSession, *, customer_id: int, subscription_id: int, key: str) -> Subscription:
    """Cancel the customer's own active add-on. Idempotent: cancelling again returns it unchanged.

    A subscription that has not started yet is refunded in full (ledger key
    `refund:subscription:<id>`, so at most once whatever the request key); one already running
    ends at the end of the current month without refund. Raises NotFound (not this customer's).
    """
    today = clock.today()
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    sub = await session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id, Subscription.customer_id == customer_id)
        .with_for_update()
    )
    if sub is None:
        raise NotFound("subscription not found")
    if sub.status != "active":
        return sub
    not_started = sub.starts_on > today
    product = await session.get(Product, sub.product_id)
    terms = (product.eligibility if product else None) or {}
    await _early_termination(session, sub=sub, terms=terms, today=today, not_started=not_started)
    new_end = sub.starts_on - timedelta(days=1) if not_started else min(sub.ends_on or month_end, month_end)
    await session.execute(
        update(Subscription)
        .where(Subscription.id == sub.id)
        .values(status="cancelled", cancelled_at=datetime.now(UTC), ends_on=new_end)
    )
    if not_started and sub.charge_fen > 0:
        acc = await airtime_account(session, customer_id)
        revenue = await ledger.system_account(session, "airtime:revenue")
        await ledger.transfer(
            session,
            key=f"refund:subscription:{sub.id}",
            kind="order_refund",
            asset=Asset.AIRTIME,
            from_account=revenue,
            to_account=acc,
            amount=int(sub.charge_fen),
            customer_id=customer_id,
            reference=f"subscription:{sub.id}",
            memo={"request_key": key[:80]},
        )
    await contracts.forfeit_pending(session, sub.id)
    await session.refresh(sub)
    return sub


async def _charge_on_cancel(
    session: AsyncSession, *, sub: Subscription, amount: int, kind: str, message_kind: str
) -> None:
    """Charge a cancellation penalty or early-termination fee once per subscription (402 if short)."""
    acc = await airtime_account(session, sub.customer_id)
    revenue = await ledger.system_account(session, "airtime:revenue")
    try:
        await ledger.transfer(
            session,
            key=f"{kind}:subscription:{sub.id}",
            kind=kind,
            asset=Asset.AIRTIME,
            from_account=acc,
            to_account=revenue,
            amount=amount,
            customer_id=sub.customer_id,
            reference=f"subscription:{sub.id}",
            memo={"reason": message_kind},
        )
    except InsufficientFunds as exc:
        raise InsufficientFunds(
            "your balance is too low for the cancellation fee of this contract",
            subscription_id=sub.id,
            fee_fen=amount,
            balance_fen=await airtime_balance_fen(session, sub.customer_id),
        ) from exc


async def _early_termination(
    session: AsyncSession, *, sub: Subscription, terms: dict, today: date, not_started: bool
) -> None:
    """Apply the product's minimum term and cancellation terms (see shared.business.contracts)."""
    if not_started:
        return
    min_term = int(terms.get("min_term_months") or 0)
    if min_term and today < add_months(sub.starts_on, min_term):
        earliest = add_months(sub.starts_on, min_term)
        if terms.get("early_termination") == "fee":
            fee = int(terms.get("early_termination_fee_fen") or 0)
            if fee > 0:
                await _charge_on_cancel(session, sub=sub, amount=fee, kind="early_termination", message_kind="min_term")
        else:
            raise MinimumTerm(
                "this contract has a minimum term and cannot be cancelled before {earliest}",
                earliest=earliest.isoformat(),
                reason="minimum_term",
                min_term_months=min_term,
                subscription_id=sub.id,
            )
    if terms.get("cancel_policy") == "penalty" and (penalty := int(terms.get("cancel_penalty_fen") or 0)) > 0:
        await _charge_on_cancel(session, sub=sub, amount=penalty, kind="cancel_penalty", message_kind="penalty")
