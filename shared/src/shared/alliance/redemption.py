"""Redemption at the till: verify, redeem exactly once, reverse within a window.

- Redeem is ONE conditional UPDATE on the coupon (`status='issued' AND merchant_id = me AND
  expires_at > now()`); 0 rows means refused. Fifty simultaneous tills on one code: one wins, the
  others re-evaluate the WHERE after the row lock and see `redeemed`.
- Each redemption carries the merchant's request key (UNIQUE per merchant): a retry with the same
  key returns the first redemption; the same key for another code is refused.
- Unknown, expired, voided and other merchants' codes get one byte-identical refusal
  (`CouponNotRedeemable`); verify also treats used codes that way. Only a redeem of a code this
  merchant itself already redeemed says when (the merchant already has that fact in its
  redemption list, so it is no oracle).
- Every lookup reserves a slot in a per-merchant budget (`till_guess_limit` per sliding
  `till_guess_window_s`, shared across workers through Postgres) BEFORE the code is evaluated,
  so a concurrent burst gets at most that many evaluations; a refused code keeps its slot, any
  other outcome gives it back. Beyond the budget every lookup gets 429 and is logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.alliance import onboarding, webhooks
from shared.alliance.coupons import code_hash
from shared.alliance.errors import AlreadyRedeemed, CouponNotRedeemable
from shared.auth import ratelimit
from shared.errors import AppError, Conflict, IdempotencyKeyReused, NotFound, TooManyRequests
from shared.logging import get_logger
from shared.masking import mask_phone
from shared.models import Coupon, Customer, Offer, Redemption
from shared.programme import settings as programme_settings
from shared.settings import Settings

log = get_logger(__name__)

REVERSAL_SETTING = programme_settings.REVERSAL_WINDOW
DEFAULT_REVERSAL_MINUTES: int = programme_settings.DEFAULTS[REVERSAL_SETTING]["minutes"]


@dataclass(frozen=True, slots=True)
class CouponView:
    coupon_id: int
    offer_id: int
    title: str
    kind: str
    face_value_fen: int
    expires_at: datetime
    customer_phone_masked: str | None


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: Redemption
    coupon: Coupon
    offer: Offer
    replayed: bool
    notify: bool = False  # a webhook delivery was queued: send it after commit


def _bucket(merchant_id: int) -> str:
    return f"alliance.code_fail:{merchant_id}"


def code_digest(code: str) -> str:
    """Logs carry a digest, never a live code."""
    return hashlib.sha256(code.encode()).hexdigest()[:12]


@asynccontextmanager
async def guess_budget(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, merchant_id: int, code: str
) -> AsyncIterator[None]:
    """Hold one slot of the merchant's lookup budget around evaluating `code`.

    Raises TooManyRequests (nothing evaluated) when the budget is used up. A refused code keeps
    its slot and is logged with its real reason; success or any other refusal (already redeemed,
    key reused, inactive, foreign store) gives the slot back. Use it outside the request's own
    session, so the reservation and the reason lookup never hold a second pooled connection.
    """
    limit = ratelimit.Limit(
        _bucket(merchant_id),
        settings.till_guess_limit,
        settings.till_guess_window_s,
        "too many refused coupon codes; wait a minute",
    )
    try:
        slots = await ratelimit.reserve(sm, [limit])
    except TooManyRequests:
        log.warning("alliance.code_bruteforce_blocked", merchant_id=merchant_id)
        raise
    try:
        yield
    except CouponNotRedeemable:
        await _log_refusal(sm, merchant_id=merchant_id, code=code)
        raise
    except AppError:
        await ratelimit.release(sm, slots)
        raise
    await ratelimit.release(sm, slots)


async def _log_refusal(sm: async_sessionmaker[AsyncSession], *, merchant_id: int, code: str) -> None:
    async with sm() as s:
        reason = await refusal_reason(s, merchant_id=merchant_id, code=code)
    log.warning("alliance.code_refused", merchant_id=merchant_id, reason=reason, code=code_digest(code))


async def refusal_reason(session: AsyncSession, *, merchant_id: int, code: str) -> str:
    """Why a code was refused — for the server log only, never for the response."""
    coupon = await session.scalar(select(Coupon).where(Coupon.code_hash == code_hash(code)))
    if coupon is None:
        return "unknown"
    if coupon.merchant_id != merchant_id:
        return "foreign"
    if coupon.status != "issued":
        return coupon.status
    if coupon.expires_at <= datetime.now(UTC):
        return "expired"
    return "other"


async def verify(session: AsyncSession, *, merchant_id: int, code: str) -> CouponView:
    """What a live code of this merchant is worth, and a masked phone to check with the customer."""
    await onboarding.ensure_active(session, merchant_id)
    row = (
        await session.execute(
            select(Coupon, Offer, Customer.phone)
            .join(Offer, Offer.id == Coupon.offer_id)
            .join(Customer, Customer.id == Coupon.customer_id)
            .where(
                Coupon.code_hash == code_hash(code),
                Coupon.merchant_id == merchant_id,
                Coupon.status == "issued",
                Coupon.expires_at > datetime.now(UTC),
            )
        )
    ).first()
    if row is None:
        raise CouponNotRedeemable()
    coupon, offer, phone = row
    return CouponView(
        coupon.id, offer.id, offer.title, offer.kind, offer.face_value_fen, coupon.expires_at, mask_phone(phone)
    )


async def _by_request_key(session: AsyncSession, *, merchant_id: int, request_key: str, digest: str) -> Redeemed | None:
    row = (
        await session.execute(
            select(Redemption, Coupon, Offer)
            .join(Coupon, Coupon.id == Redemption.coupon_id)
            .join(Offer, Offer.id == Coupon.offer_id)
            .where(Redemption.merchant_id == merchant_id, Redemption.request_key == request_key)
        )
    ).first()
    if row is None:
        return None
    redemption, coupon, offer = row
    if not hmac.compare_digest(coupon.code_hash, digest):
        raise IdempotencyKeyReused("this request key was used to redeem another code", key=request_key)
    return Redeemed(redemption, coupon, offer, replayed=True)


async def redeem(
    session: AsyncSession, *, merchant_id: int, code: str, request_key: str, store_id: int | None = None
) -> Redeemed:
    """Redeem a code exactly once (see the module docstring for the concurrency argument).

    Raises CouponNotRedeemable (404, uniform), AlreadyRedeemed (409, with redeemed_at),
    IdempotencyKeyReused (409), MerchantInactive (403), NotFound (store not this merchant's).
    """
    digest = code_hash(code)
    merchant = await onboarding.ensure_active(session, merchant_id)
    await onboarding.ensure_store(session, merchant_id=merchant_id, store_id=store_id)
    if (
        prior := await _by_request_key(session, merchant_id=merchant_id, request_key=request_key, digest=digest)
    ) is not None:
        return prior
    won = (
        await session.execute(
            update(Coupon)
            .where(
                Coupon.code_hash == digest,
                Coupon.merchant_id == merchant_id,
                Coupon.status == "issued",
                Coupon.expires_at > datetime.now(UTC),
            )
            .values(status="redeemed", redeemed_at=func.now())
            .returning(Coupon.id)
        )
    ).scalar_one_or_none()
    if won is None:
        # a concurrent duplicate of this very request may have committed while we waited
        if (
            prior := await _by_request_key(session, merchant_id=merchant_id, request_key=request_key, digest=digest)
        ) is not None:
            return prior
        used = await session.scalar(
            select(Coupon.redeemed_at).where(
                Coupon.code_hash == digest, Coupon.merchant_id == merchant_id, Coupon.status == "redeemed"
            )
        )
        if used is not None:
            raise AlreadyRedeemed("this coupon was already redeemed", redeemed_at=used.isoformat())
        raise CouponNotRedeemable()
    coupon = await session.get(Coupon, won)
    assert coupon is not None
    await session.refresh(coupon)
    offer = await session.get(Offer, coupon.offer_id)
    assert offer is not None
    redemption = Redemption(
        coupon_id=coupon.id,
        merchant_id=merchant_id,
        customer_id=coupon.customer_id,
        store_id=store_id,
        request_key=request_key,
        settlement_fen=offer.settlement_fen,
    )
    session.add(redemption)
    await session.flush()
    delivery = await webhooks.enqueue(
        session,
        merchant=merchant,
        event="coupon.redeemed",
        payload={
            "redemption_id": redemption.id,
            "coupon_id": coupon.id,
            "offer_id": offer.id,
            "store_id": store_id,
            "settlement_fen": offer.settlement_fen,
            "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
        },
    )
    return Redeemed(redemption, coupon, offer, replayed=False, notify=delivery is not None)


async def reversal_window(session: AsyncSession) -> timedelta:
    """Back-office setting `alliance.reversal_window` = {"minutes": N}; 30 minutes by default."""
    return timedelta(minutes=int((await programme_settings.get(session, REVERSAL_SETTING))["minutes"]))


async def reverse(session: AsyncSession, *, merchant_id: int, redemption_id: int, key: str) -> Redemption:
    """Undo a redemption within the window; the coupon becomes redeemable again.

    Locks the redemption row (FOR UPDATE), so concurrent reversals serialise; a retry with the
    same key returns the reversed redemption. Raises NotFound (not this merchant's), Conflict
    (already reversed with another key, or the window has passed).
    """
    merchant = await onboarding.ensure_active(session, merchant_id)
    redemption = await session.scalar(
        select(Redemption)
        .where(Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)
        .with_for_update()
    )
    if redemption is None:
        raise NotFound("redemption not found", redemption_id=redemption_id)
    if redemption.reversed_at is not None:
        if redemption.reversal_key == key:
            return redemption
        raise Conflict("this redemption was already reversed", reversed_at=redemption.reversed_at.isoformat())
    if redemption.created_at < datetime.now(UTC) - await reversal_window(session):
        raise Conflict("the reversal window for this redemption has passed")
    redemption.reversed_at = datetime.now(UTC)
    redemption.reversal_key = key
    await session.execute(
        update(Coupon)
        .where(and_(Coupon.id == redemption.coupon_id, Coupon.status == "redeemed"))
        .values(status="issued", redeemed_at=None)
    )
    await session.flush()
    await webhooks.enqueue(
        session,
        merchant=merchant,
        event="coupon.redemption_reversed",
        payload={
            "redemption_id": redemption.id,
            "coupon_id": redemption.coupon_id,
            "settlement_fen": redemption.settlement_fen,
        },
    )
    return redemption


async def list_own(
    session: AsyncSession, *, merchant_id: int, before_id: int | None, limit: int
) -> list[tuple[Redemption, Offer]]:
    stmt = (
        select(Redemption, Offer)
        .join(Coupon, Coupon.id == Redemption.coupon_id)
        .join(Offer, Offer.id == Coupon.offer_id)
        .where(Redemption.merchant_id == merchant_id)
    )
    if before_id:
        stmt = stmt.where(Redemption.id < before_id)
    return [(r, o) for r, o in (await session.execute(stmt.order_by(Redemption.id.desc()).limit(limit))).all()]


async def get_own(session: AsyncSession, *, merchant_id: int, redemption_id: int) -> tuple[Redemption, Offer]:
    row = (
        await session.execute(
            select(Redemption, Offer)
            .join(Coupon, Coupon.id == Redemption.coupon_id)
            .join(Offer, Offer.id == Coupon.offer_id)
            .where(Redemption.id == redemption_id, Redemption.merchant_id == merchant_id)
        )
    ).first()
    if row is None:
        raise NotFound("redemption not found", redemption_id=redemption_id)
    return row[0], row[1]
