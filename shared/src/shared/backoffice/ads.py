"""Operator approval of banners that alliance merchants place (seed 001, alliance operation).

A merchant ad is created `pending` (`submit_merchant_ad`, for the alliance API); the operator
approves or rejects it with one guarded UPDATE (`status = 'pending' AND merchant_id IS NOT NULL`),
so two operators deciding at once cannot both win and a decided ad cannot be decided again
(Conflict). Ad CRUD for the operator's own banners lives with the engagement admin routes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import Ad


async def submit_merchant_ad(
    session: AsyncSession,
    *,
    merchant_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    body: str | None = None,
    image_url: str | None = None,
    link: str | None = None,
    target_tiers: list[str] | None = None,
    target_segments: list[str] | None = None,
) -> Ad:
    if ends_at <= starts_at:
        raise Unprocessable("ends_at must be after starts_at")
    ad = Ad(
        title=title,
        body=body,
        image_url=image_url,
        link=link,
        target_tiers=target_tiers or [],
        target_segments=target_segments or [],
        starts_at=starts_at,
        ends_at=ends_at,
        merchant_id=merchant_id,
        status="pending",
        priority=0,
    )
    session.add(ad)
    await session.flush()
    return ad


async def list_pending(session: AsyncSession, *, limit: int = 100) -> list[Ad]:
    stmt = select(Ad).where(Ad.status == "pending", Ad.merchant_id.is_not(None)).order_by(Ad.id).limit(limit)
    return list((await session.scalars(stmt)).all())


async def decide(session: AsyncSession, ad_id: int, *, approve: bool) -> Ad:
    """Approve or reject a pending merchant ad; Conflict if it is not (or no longer) pending."""
    new_status = "approved" if approve else "rejected"
    done = await session.scalar(
        update(Ad)
        .where(Ad.id == ad_id, Ad.status == "pending", Ad.merchant_id.is_not(None))
        .values(status=new_status)
        .returning(Ad.id)
    )
    ad = await session.get(Ad, ad_id, populate_existing=True)
    if ad is None or ad.merchant_id is None:
        raise NotFound("merchant ad not found", id=ad_id)
    if done is None:
        raise Conflict("only a pending merchant ad can be decided", status=ad.status)
    return ad
