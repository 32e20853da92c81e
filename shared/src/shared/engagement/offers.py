"""What the app shows a customer: the engine's recommendations for them, and targeted banners.

Recommendations are written by the retention engine; the customer only answers them. An answer
is a guarded state change (open -> accepted/dismissed) plus a touch (channel "app") for campaign
tracking, both in the caller's transaction; answering again with the same answer is a no-op.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound
from shared.models import Ad, Customer, CustomerProfile, Product, Recommendation
from shared.touches.service import record_touch

RESPONSES = {"accept": "accepted", "dismiss": "dismissed"}


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
        {"id": r.id, "product_id": r.product_id, "product_name": name, "product_kind": kind,
         "monthly_fee_fen": fee, "selling_points": sp, "reason": r.reason, "expires_at": r.expires_at,
         "created_at": r.created_at}
        for r, name, kind, fee, sp in rows
    ]


async def respond(
    session: AsyncSession, *, customer_id: int, recommendation_id: int, answer: str, now: datetime
) -> Recommendation:
    """Accept or dismiss the customer's own open recommendation and record the touch.

    Raises NotFound (unknown or another customer's), Conflict (already answered differently or
    expired). The touch key `recommendation:<id>:<status>` makes a retried answer record nothing.
    """

    status = RESPONSES[answer]
    rec = await session.scalar(
        update(Recommendation)
        .where(
            Recommendation.id == recommendation_id, Recommendation.customer_id == customer_id,
            Recommendation.status == "open",
            or_(Recommendation.expires_at.is_(None), Recommendation.expires_at > now),
        )
        .values(status=status, responded_at=now)
        .returning(Recommendation)
    )
    if rec is None:
        rec = await session.scalar(
            select(Recommendation).where(Recommendation.id == recommendation_id, Recommendation.customer_id == customer_id)
        )
        if rec is None:
            raise NotFound("recommendation not found")
        if rec.status != status:
            raise Conflict("this offer can no longer be answered that way", status=rec.status)
        return rec
    await record_touch(
        session, customer_id=customer_id, channel="app", outcome=status, campaign_id=rec.campaign_id,
        recommendation_id=rec.id, product_id=rec.product_id, key=f"recommendation:{rec.id}:{status}",
    )
    return rec


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
        or_(text("jsonb_array_length(ads.target_segments) = 0"),
            Ad.target_segments.contains([segment]) if segment else text("false")),
    )
    ads = (
        await session.scalars(
            select(Ad).where(Ad.status == "approved", Ad.starts_at <= now, Ad.ends_at > now, targeted)
            .order_by(Ad.priority.desc(), Ad.id).limit(10)
        )
    ).all()
    return [{"id": a.id, "title": a.title, "body": a.body, "image_url": a.image_url, "link": a.link} for a in ads]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
