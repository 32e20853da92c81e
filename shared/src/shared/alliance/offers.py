"""Offers: merchants publish, the back office approves, customers see approved offers they qualify for.

Status: pending → approved | rejected; approved → ended (withdrawn by the merchant or the merchant
ended). Prices are set at publish time and cannot be edited afterwards (a new offer needs a new
approval). Stock only moves in guarded UPDATEs (`stock_left` never below 0, CHECK backs it up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance.errors import (
    FreeOffer,
    InvalidTransition,
    OfferExposureTooHigh,
    OfferValueTooHigh,
    SettlementAboveFaceValue,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import Customer, CustomerProfile, Merchant, Offer

KINDS = ("discount", "voucher", "free_item", "membership")
# Upper bounds of one offer (422 `offer_value_too_high` / `offer_exposure_too_high` beyond them).
MAX_FACE_VALUE_FEN = 500_000  # ¥5,000 per coupon
MAX_PRICE_POINTS = 1_000_000
MAX_PRICE_AIRTIME_FEN = 500_000
MAX_EXPOSURE_FEN = 100_000_000  # settlement × stock: ¥1,000,000 owed by the operator at most


@dataclass(frozen=True, slots=True)
class OfferIn:
    title: str
    kind: str
    description: str | None
    face_value_fen: int
    settlement_fen: int
    price_points: int
    price_airtime_fen: int
    stock_total: int
    per_customer_limit: int
    valid_from: datetime
    valid_to: datetime
    coupon_valid_days: int
    target_tiers: list[str]
    target_segments: list[str]


def _check(data: OfferIn) -> None:
    """Business checks beyond field ranges (the routers validate types and ranges with pydantic)."""
    if data.kind not in KINDS:
        raise Unprocessable("unknown offer kind", kind=data.kind)
    if min(data.price_points, data.price_airtime_fen, data.face_value_fen, data.settlement_fen, data.stock_total) < 0:
        raise Unprocessable("prices, values and stock must not be negative")
    if data.stock_total < 1 or data.per_customer_limit < 1:
        raise Unprocessable("stock and per-customer limit must be at least 1")
    if data.valid_to <= data.valid_from:
        raise Unprocessable("valid_to must be after valid_from")
    check_economics(
        face_value_fen=data.face_value_fen,
        settlement_fen=data.settlement_fen,
        price_points=data.price_points,
        price_airtime_fen=data.price_airtime_fen,
        stock_total=data.stock_total,
    )


def check_economics(
    *, face_value_fen: int, settlement_fen: int, price_points: int, price_airtime_fen: int, stock_total: int
) -> None:
    """What an offer may cost the operator: never free, settlement within face value, bounded.

    Checked at publish, at approval (offers written before these rules) and, for the exposure,
    when stock is added. The first rule broken is the error code.
    """
    if price_points == 0 and price_airtime_fen == 0:
        raise FreeOffer("an offer needs a price in points or airtime")
    if settlement_fen > face_value_fen:
        raise SettlementAboveFaceValue(
            "settlement_fen may not exceed face_value_fen", settlement_fen=settlement_fen, face_value_fen=face_value_fen
        )
    for field, value, cap in (
        ("face_value_fen", face_value_fen, MAX_FACE_VALUE_FEN),
        ("price_points", price_points, MAX_PRICE_POINTS),
        ("price_airtime_fen", price_airtime_fen, MAX_PRICE_AIRTIME_FEN),
    ):
        if value > cap:
            raise OfferValueTooHigh("{field} may be at most {max}", field=field, max=cap)
    if settlement_fen * stock_total > MAX_EXPOSURE_FEN:
        raise OfferExposureTooHigh(
            "settlement_fen × stock_total may be at most {max_fen}",
            max_fen=MAX_EXPOSURE_FEN,
            exposure_fen=settlement_fen * stock_total,
        )


async def publish(session: AsyncSession, *, merchant_id: int, data: OfferIn) -> Offer:
    """Create an offer in `pending`; customers cannot see it until the back office approves it."""
    _check(data)
    offer = Offer(
        merchant_id=merchant_id,
        title=data.title,
        kind=data.kind,
        description=data.description,
        face_value_fen=data.face_value_fen,
        settlement_fen=data.settlement_fen,
        price_points=data.price_points,
        price_airtime_fen=data.price_airtime_fen,
        stock_total=data.stock_total,
        stock_left=data.stock_total,
        per_customer_limit=data.per_customer_limit,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        coupon_valid_days=data.coupon_valid_days,
        target_tiers=sorted(set(data.target_tiers)),
        target_segments=sorted(set(data.target_segments)),
        status="pending",
    )
    session.add(offer)
    await session.flush()
    return offer


async def get_own(session: AsyncSession, *, merchant_id: int, offer_id: int) -> Offer:
    """An offer of this merchant; another merchant's offer is 'not found' (no existence leak)."""
    offer = await session.scalar(select(Offer).where(Offer.id == offer_id, Offer.merchant_id == merchant_id))
    if offer is None:
        raise NotFound("offer not found", offer_id=offer_id)
    return offer


async def list_own(
    session: AsyncSession, *, merchant_id: int, status: str | None, after_id: int, limit: int
) -> list[Offer]:
    stmt = select(Offer).where(Offer.merchant_id == merchant_id, Offer.id > after_id)
    if status:
        stmt = stmt.where(Offer.status == status)
    return list((await session.scalars(stmt.order_by(Offer.id).limit(limit))).all())


async def adjust_stock(session: AsyncSession, *, merchant_id: int, offer_id: int, delta: int) -> Offer:
    """Add (or withdraw, delta < 0) stock in one guarded UPDATE; stock never goes below zero.

    Concurrency: exchanges decrement the same row; READ COMMITTED re-evaluates the WHERE after
    the row lock, so a withdrawal racing a sale can never drive stock_left negative.
    Raises NotFound (not this merchant's), Conflict (would go below zero or offer closed).
    """
    current = await get_own(session, merchant_id=merchant_id, offer_id=offer_id)
    if delta > 0 and current.settlement_fen * (current.stock_total + delta) > MAX_EXPOSURE_FEN:
        raise OfferExposureTooHigh(
            "settlement_fen × stock_total may be at most {max_fen}",
            max_fen=MAX_EXPOSURE_FEN,
            exposure_fen=current.settlement_fen * (current.stock_total + delta),
        )
    done = await session.scalar(
        update(Offer)
        .where(
            Offer.id == offer_id,
            Offer.merchant_id == merchant_id,
            Offer.status.in_(("pending", "approved")),
            Offer.stock_left + delta >= 0,
            # settlement never changes after publish, so this guard holds under concurrent restocks
            Offer.settlement_fen * (Offer.stock_total + delta) <= MAX_EXPOSURE_FEN,
        )
        .values(stock_left=Offer.stock_left + delta, stock_total=Offer.stock_total + delta)
        .returning(Offer.id)
    )
    if done is None:
        raise Conflict(
            "stock cannot go below zero (or the offer is closed, or at its exposure cap)",
            offer_id=offer_id,
            delta=delta,
        )
    offer = await get_own(session, merchant_id=merchant_id, offer_id=offer_id)
    await session.refresh(offer)
    return offer


async def withdraw(session: AsyncSession, *, merchant_id: int, offer_id: int) -> Offer:
    """The merchant closes its offer (idempotent). Coupons already sold stay valid."""
    offer = await get_own(session, merchant_id=merchant_id, offer_id=offer_id)
    await session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.status.in_(("pending", "approved"))).values(status="ended")
    )
    await session.refresh(offer)
    return offer


async def decide(session: AsyncSession, *, offer_id: int, approve: bool) -> Offer:
    """Back-office decision on a pending offer (guarded; repeating the same decision is a no-op)."""
    to = "approved" if approve else "rejected"
    if approve and (pending := await session.get(Offer, offer_id)) is not None and pending.status == "pending":
        check_economics(
            face_value_fen=pending.face_value_fen,
            settlement_fen=pending.settlement_fen,
            price_points=pending.price_points,
            price_airtime_fen=pending.price_airtime_fen,
            stock_total=pending.stock_total,
        )
    done = await session.scalar(
        update(Offer).where(Offer.id == offer_id, Offer.status == "pending").values(status=to).returning(Offer.id)
    )
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("offer not found", offer_id=offer_id)
    await session.refresh(offer)
    if done is None and offer.status != to:
        raise InvalidTransition("offer is {status}", status=offer.status)
    return offer


async def list_all(
    session: AsyncSession, *, status: str | None, merchant_id: int | None, after_id: int, limit: int
) -> list[Offer]:
    stmt = select(Offer).where(Offer.id > after_id)
    if status:
        stmt = stmt.where(Offer.status == status)
    if merchant_id:
        stmt = stmt.where(Offer.merchant_id == merchant_id)
    return list((await session.scalars(stmt.order_by(Offer.id).limit(limit))).all())


def _qualifies(customer_tier: ColumnElement, customer_segment: ColumnElement) -> ColumnElement[bool]:
    """Empty target lists mean 'everyone'; otherwise the customer's tier/segment must be listed."""
    tiers_ok = or_(func.jsonb_array_length(Offer.target_tiers) == 0, Offer.target_tiers.op("?")(customer_tier))
    segs_ok = or_(
        func.jsonb_array_length(Offer.target_segments) == 0,
        and_(customer_segment.is_not(None), Offer.target_segments.op("?")(func.coalesce(customer_segment, ""))),
    )
    return and_(tiers_ok, segs_ok)


def visible_to_customer(customer_id: int, *, in_stock: bool = True) -> Select:
    """Offers a customer may exchange now: approved, merchant approved, in its window, in stock,
    priced (gift-only offers with no price are issued by campaigns, not sold), and targeted at
    this customer's tier and segment. `in_stock=False` keeps sold-out offers, so a buyer who
    lost the race hears "sold out" rather than "not found"."""
    segment = select(CustomerProfile.segment).where(CustomerProfile.customer_id == customer_id).scalar_subquery()
    tier = select(Customer.tier).where(Customer.id == customer_id).scalar_subquery()
    return (
        select(Offer, Merchant.name)
        .join(Merchant, Merchant.id == Offer.merchant_id)
        .where(
            Offer.status == "approved",
            Merchant.status == "approved",
            Offer.valid_from <= func.now(),
            Offer.valid_to > func.now(),
            Offer.stock_left > 0 if in_stock else Offer.stock_left >= 0,
            (Offer.price_points + Offer.price_airtime_fen) > 0,
            _qualifies(tier, segment),
        )
    )


async def list_for_customer(
    session: AsyncSession, *, customer_id: int, after_id: int, limit: int
) -> list[tuple[Offer, str]]:
    stmt = visible_to_customer(customer_id).where(Offer.id > after_id).order_by(Offer.id).limit(limit)
    return [(o, name) for o, name in (await session.execute(stmt)).all()]


async def get_for_customer(
    session: AsyncSession, *, customer_id: int, offer_id: int, in_stock: bool = True
) -> tuple[Offer, str]:
    row = (
        await session.execute(visible_to_customer(customer_id, in_stock=in_stock).where(Offer.id == offer_id))
    ).first()
    if row is None:
        raise NotFound("offer not found", offer_id=offer_id)
    return row[0], row[1]
