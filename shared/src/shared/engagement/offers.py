"""What the app shows a customer: the engine's recommendations for them, and targeted banners.

Recommendations are written by the retention engine or a campaign; the customer answers them.
Accepting one *acts*: the order goes through `business.orders.place_order` (same eligibility,
balance and ledger rules as `POST /v1/orders`; refusals are 409 `not_eligible` / 402
`insufficient_funds` with their reasons, and nothing is written — the offer stays open), or, when
the product needs a signature, a care task hands it to the account manager. Dismissing is a
guarded state change. Each answer is a touch (channel `app`: `ordered`, `handed_to_manager`,
`interested` for an offer without a product, `dismissed`), all in the caller's transaction.
Answering again with the same answer returns the first result (the order key is
`recommendation:<id>`, so two concurrent accepts place one order); another answer is a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.business.orders import needs_signature, place_order
from shared.errors import Conflict, NotFound
from shared.manager.handoff import hand_to_manager
from shared.models import Ad, CareTask, Customer, CustomerProfile, Product, Recommendation, Subscription
from shared.touches.service import record_touch

RESPONSES = {"accept": "accepted", "dismiss": "dismissed"}


@dataclass(frozen=True, slots=True)
class Answer:
    recommendation: Recommendation
    result: str  # ordered / handed_to_manager / noted / dismissed
    subscription: Subscription | None = None
    task_id: int | None = None
    manager_id: int | None = None


async def open_recommendations(session: AsyncSession, customer_id: int, *, now: datetime) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Recommendation, Product.name, Product.kind, Product.monthly_fee_fen, Product.selling_points)
            .outerjoin(Product, Product.id == Recommendation.product_id)
            .where(
                Recommendation.customer_id == customer_id,
                Recommendation.status == "open",
                or_(Recommendation.expires_at.is_(None), Recommendation.expires_at > now),
            )
            .order_by(Recommendation.score.desc(), Recommendation.id)
            .limit(20)
        )
    ).all()
    return [
        {
            "id": r.id,
            "product_id": r.product_id,
            "product_name": name,
            "product_kind": kind,
            "monthly_fee_fen": fee,
            "selling_points": sp,
            "reason": r.reason,
            "purpose": r.purpose,
            "expires_at": r.expires_at,
            "created_at": r.created_at,
        }
        for r, name, kind, fee, sp in rows
    ]


async def respond(
    session: AsyncSession, *, customer_id: int, recommendation_id: int, answer: str, now: datetime
) -> Answer:
    """Accept (order, or hand to the manager) or dismiss the customer's own open recommendation.

    Raises NotFound (unknown or another customer's), Conflict (already answered differently or
    expired), and for an accept whatever `place_order` raises (NotEligible 409, InsufficientFunds
    402) — the caller's transaction then rolls back and the offer stays open.
    """
    status = RESPONSES[answer]
    rec = await session.scalar(
        update(Recommendation)
        .where(
            Recommendation.id == recommendation_id,
            Recommendation.customer_id == customer_id,
            Recommendation.status == "open",
            or_(Recommendation.expires_at.is_(None), Recommendation.expires_at > now),
        )
        .values(status=status, responded_at=now)
        .returning(Recommendation)
    )
    if rec is None:
        rec = await session.scalar(
            select(Recommendation).where(
                Recommendation.id == recommendation_id, Recommendation.customer_id == customer_id
            )
        )
        if rec is None:
            raise NotFound("recommendation not found")
        if rec.status != status:
            raise Conflict("this offer can no longer be answered that way", status=rec.status)
        return await _replay(session, rec)
    if status == "dismissed":
        await _touch(session, rec, "dismissed")
        return Answer(rec, "dismissed")
    product = await session.get(Product, rec.product_id) if rec.product_id else None
    if product is None:
        await _touch(session, rec, "interested")
        return Answer(rec, "noted")
    if needs_signature(product):
        task_id, manager_id = await hand_to_manager(
            session,
            customer_id=customer_id,
            product=product,
            source=f"recommendation:{rec.id}",
            campaign_id=rec.campaign_id,
            script=rec.script,
        )
        await _touch(session, rec, "handed_to_manager")
        return Answer(rec, "handed_to_manager", task_id=task_id, manager_id=manager_id)
    sub = await place_order(
        session,
        customer_id=customer_id,
        product_id=product.id,
        key=_order_key(rec),
        channel="app",
        consent_ref=f"app:recommendation:{rec.id}",
    )
    await _touch(session, rec, "ordered")
    return Answer(rec, "ordered", subscription=sub)


def _order_key(rec: Recommendation) -> str:
    return f"recommendation:{rec.id}"


async def _touch(session: AsyncSession, rec: Recommendation, outcome: str) -> None:
    """The answer as a touch; its key makes a retried answer record nothing. `responded_at` is the
    database clock of this transaction, the same instant as the order it placed."""
    touch = await record_touch(
        session,
        customer_id=rec.customer_id,
        channel="app",
        outcome=outcome,
        campaign_id=rec.campaign_id,
        recommendation_id=rec.id,
        product_id=rec.product_id,
        key=f"recommendation:{rec.id}:{rec.status}",
    )
    await session.execute(
        text("UPDATE touches SET responded_at = now() WHERE id = :t AND responded_at IS NULL"), {"t": touch.id}
    )


async def _replay(session: AsyncSession, rec: Recommendation) -> Answer:
    """The result of an answer already given (a retry, or a concurrent duplicate that lost)."""
    if rec.status == "dismissed":
        return Answer(rec, "dismissed")
    sub = await session.scalar(
        select(Subscription).where(
            Subscription.customer_id == rec.customer_id, Subscription.idempotency_key == _order_key(rec)
        )
    )
    if sub is not None:
        return Answer(rec, "ordered", subscription=sub)
    task = (
        await session.execute(
            select(CareTask.id, CareTask.manager_id).where(CareTask.dedupe_key == f"signature:recommendation:{rec.id}")
        )
    ).one_or_none()
    if task is not None:
        return Answer(rec, "handed_to_manager", task_id=task.id, manager_id=task.manager_id)
    return Answer(rec, "noted")


async def ads_for(session: AsyncSession, customer_id: int, *, now: datetime) -> list[dict[str, Any]]:
    """Approved banners live now whose targeting (empty = everyone) matches tier and segment."""
    row = (
        await session.execute(
            select(Customer.tier, CustomerProfile.segment)
            .outerjoin(CustomerProfile, CustomerProfile.customer_id == Customer.id)
            .where(Customer.id == customer_id)
        )
    ).one_or_none()
    tier, segment = (row.tier, row.segment) if row else (None, None)
    targeted = and_(
        or_(text("jsonb_array_length(ads.target_tiers) = 0"), Ad.target_tiers.contains([tier] if tier else [])),
        or_(
            text("jsonb_array_length(ads.target_segments) = 0"),
            Ad.target_segments.contains([segment]) if segment else text("false"),
        ),
    )
    ads = (
        await session.scalars(
            select(Ad)
            .where(Ad.status == "approved", Ad.starts_at <= now, Ad.ends_at > now, targeted)
            .order_by(Ad.priority.desc(), Ad.id)
            .limit(10)
        )
    ).all()
    return [{"id": a.id, "title": a.title, "body": a.body, "image_url": a.image_url, "link": a.link} for a in ads]


def utcnow() -> datetime:
    return datetime.now(UTC)
