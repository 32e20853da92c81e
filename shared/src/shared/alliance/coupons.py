"""Coupons: issue (campaigns, treasure-hunt prizes) and exchange (customer pays points or airtime).

Invariants, all inside the caller's one transaction:
- stock moves in ONE guarded UPDATE (`stock_left = stock_left - 1 WHERE stock_left > 0`), so
  concurrent buyers can never take more than the stock;
- the per-customer limit is counted under a transaction-scoped advisory lock keyed by
  (offer, customer): two concurrent requests of one customer for one offer run one after the
  other, and the second sees the first's coupon (different customers never wait on each other);
- payment is one ledger transaction keyed `coupon:<customer>:<key>`; a replay of the same key
  returns the first coupon and posts nothing;
- the code carries 100 bits from `secrets` (20 characters of a 32-letter alphabet) and is
  stored only as an HMAC (the till's lookup) and sealed for its owner (`shared.alliance.codes`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance import accounts, codes, offers
from shared.alliance.errors import LimitReached, SoldOut
from shared.db.locking import Lock, advisory_lock
from shared.errors import Conflict, IdempotencyKeyReused, NotFound, Unprocessable
from shared.ledger import service as ledger
from shared.models import Asset, Coupon, Customer, Merchant, Offer

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, no 0/O/1/I: 5 bits each
CODE_LENGTH = 20  # 100 bits
QR_PREFIX = "TENURE-CPN:"
SOURCES = ("exchange", "hunt", "campaign")
PAY_WITH = ("points", "airtime")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """Tills type codes with spaces or dashes and in lower case; scanners send the QR payload."""
    code = raw.strip()
    if code.upper().startswith(QR_PREFIX):
        code = code[len(QR_PREFIX) :]
    return code.replace("-", "").replace(" ", "").upper()


def qr_payload(code: str) -> str:
    return f"{QR_PREFIX}{code}"


def code_hash(raw: str) -> str:
    """What the till looks a typed or scanned code up by."""
    return codes.lookup_hash(normalise_code(raw))


def code_of(coupon: Coupon) -> str:
    """The plain code, for its owner's eyes only (the customer app's coupon views)."""
    return codes.unseal(coupon.code_sealed)


def display_state(coupon: Coupon, now: datetime | None = None) -> str:
    """`issued` coupons past their expiry show as `expired` (no job needs to flip them)."""
    now = now or datetime.now(UTC)
    if coupon.status == "issued" and coupon.expires_at <= now:
        return "expired"
    return coupon.status


async def _replay(session: AsyncSession, *, customer_id: int, key: str, offer_id: int) -> Coupon | None:
    existing = await session.scalar(
        select(Coupon).where(Coupon.customer_id == customer_id, Coupon.idempotency_key == key)
    )
    if existing is not None and existing.offer_id != offer_id:
        raise IdempotencyKeyReused("this key was already used for another coupon", key=key)
    return existing


async def _live_offer(session: AsyncSession, offer_id: int) -> Offer:
    row = (
        await session.execute(
            select(Offer, Merchant.status).join(Merchant, Merchant.id == Offer.merchant_id).where(Offer.id == offer_id)
        )
    ).first()
    if row is None:
        raise NotFound("offer not found", offer_id=offer_id)
    offer, merchant_status = row
    now = datetime.now(UTC)
    if offer.status != "approved" or merchant_status != "approved" or not (offer.valid_from <= now < offer.valid_to):
        raise NotFound("offer not available", offer_id=offer_id)
    return offer


async def _take_one(session: AsyncSession, *, offer: Offer, customer_id: int) -> None:
    """Per-customer limit (counted under the advisory lock) then the guarded stock decrement."""
    held = await session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.offer_id == offer.id, Coupon.customer_id == customer_id, Coupon.status != "void")
    )
    if int(held or 0) >= offer.per_customer_limit:
        raise LimitReached("you already hold the most coupons of this offer allowed", limit=offer.per_customer_limit)
    taken = await session.scalar(
        update(Offer)
        .where(Offer.id == offer.id, Offer.stock_left > 0, Offer.status == "approved")
        .values(stock_left=Offer.stock_left - 1)
        .returning(Offer.stock_left)
    )
    if taken is None:
        raise SoldOut("this offer is sold out", offer_id=offer.id)


async def _insert(
    session: AsyncSession, *, offer: Offer, customer_id: int, key: str, source: str, points: int, airtime: int
) -> Coupon:
    code = new_code()
    coupon = Coupon(
        offer_id=offer.id,
        merchant_id=offer.merchant_id,
        customer_id=customer_id,
        code_hash=codes.lookup_hash(code),
        code_sealed=codes.seal(code),
        status="issued",
        paid_points=points,
        paid_airtime_fen=airtime,
        expires_at=datetime.now(UTC) + timedelta(days=offer.coupon_valid_days),
        idempotency_key=key,
        source=source,
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def _lock(session: AsyncSession, *, offer_id: int, customer_id: int) -> None:
    await advisory_lock(session, Lock.COUPON_LIMIT, f"{offer_id}:{customer_id}")


async def issue_coupon(session: AsyncSession, *, offer_id: int, customer_id: int, key: str, source: str) -> Coupon:
    """Give a customer a coupon of an approved offer without payment (prizes, campaigns).

    Idempotent per (customer, key): a replay returns the first coupon. Takes one unit of stock in
    one guarded UPDATE and respects the offer's per-customer limit under concurrency.
    Raises NotFound (offer not live), SoldOut, LimitReached (409), IdempotencyKeyReused (409).
    """
    if source not in SOURCES:
        raise Unprocessable("unknown coupon source", source=source)
    if (done := await _replay(session, customer_id=customer_id, key=key, offer_id=offer_id)) is not None:
        return done
    await _lock(session, offer_id=offer_id, customer_id=customer_id)
    if (done := await _replay(session, customer_id=customer_id, key=key, offer_id=offer_id)) is not None:
        return done
    offer = await _live_offer(session, offer_id)
    await _take_one(session, offer=offer, customer_id=customer_id)
    return await _insert(session, offer=offer, customer_id=customer_id, key=key, source=source, points=0, airtime=0)


async def exchange(session: AsyncSession, *, offer_id: int, customer_id: int, key: str, pay_with: str) -> Coupon:
    """The customer buys a coupon with points (to `points:redemption`) or airtime (to
    `airtime:revenue`), in the same transaction as the stock decrement and the coupon row.

    Concurrency: see the module docstring; the balance check is the ledger's guarded UPDATE.
    Raises NotFound, SoldOut, LimitReached, InsufficientFunds (402), Conflict (not payable that
    way), IdempotencyKeyReused.
    """
    if pay_with not in PAY_WITH:
        raise Unprocessable("pay_with must be points or airtime", pay_with=pay_with)
    if (done := await _replay(session, customer_id=customer_id, key=key, offer_id=offer_id)) is not None:
        return done
    await _lock(session, offer_id=offer_id, customer_id=customer_id)
    if (done := await _replay(session, customer_id=customer_id, key=key, offer_id=offer_id)) is not None:
        return done
    customer_ok = await session.scalar(
        select(Customer.id).where(Customer.id == customer_id, Customer.status == "active")
    )
    if customer_ok is None:
        raise Conflict("only active subscribers can exchange coupons")
    offer, _ = await offers.get_for_customer(session, customer_id=customer_id, offer_id=offer_id, in_stock=False)
    price = offer.price_points if pay_with == "points" else offer.price_airtime_fen
    if price <= 0:
        raise Conflict("this offer cannot be paid with {pay_with}", pay_with=pay_with)
    await _take_one(session, offer=offer, customer_id=customer_id)
    ledger_key = f"coupon:{customer_id}:{key}"
    memo = {"offer_id": offer.id, "merchant_id": offer.merchant_id}
    if pay_with == "points":
        await ledger.transfer(
            session,
            key=ledger_key,
            kind="alliance.coupon_exchange",
            asset=Asset.POINTS,
            from_account=await ledger.customer_account(session, customer_id, Asset.POINTS),
            to_account=await ledger.system_account(session, "points:redemption"),
            amount=price,
            customer_id=customer_id,
            reference=f"offer:{offer.id}",
            actor=f"customer:{customer_id}",
            memo=memo,
        )
    else:
        await ledger.transfer(
            session,
            key=ledger_key,
            kind="alliance.coupon_exchange",
            asset=Asset.AIRTIME,
            from_account=await accounts.customer_airtime_account(session, customer_id),
            to_account=await ledger.system_account(session, "airtime:revenue"),
            amount=price,
            customer_id=customer_id,
            reference=f"offer:{offer.id}",
            actor=f"customer:{customer_id}",
            memo=memo,
        )
    return await _insert(
        session,
        offer=offer,
        customer_id=customer_id,
        key=key,
        source="exchange",
        points=price if pay_with == "points" else 0,
        airtime=price if pay_with == "airtime" else 0,
    )


async def list_for_customer(
    session: AsyncSession, *, customer_id: int, state: str | None, before_id: int | None, limit: int
) -> list[tuple[Coupon, Offer, str]]:
    """A customer's coupons, newest first, with offer and merchant name."""
    stmt = (
        select(Coupon, Offer, Merchant.name)
        .join(Offer, Offer.id == Coupon.offer_id)
        .join(Merchant, Merchant.id == Coupon.merchant_id)
        .where(Coupon.customer_id == customer_id)
    )
    if before_id:
        stmt = stmt.where(Coupon.id < before_id)
    if state == "expired":
        stmt = stmt.where(Coupon.status == "issued", Coupon.expires_at <= func.now())
    elif state == "issued":
        stmt = stmt.where(Coupon.status == "issued", Coupon.expires_at > func.now())
    elif state:
        stmt = stmt.where(Coupon.status == state)
    rows = (await session.execute(stmt.order_by(Coupon.id.desc()).limit(limit))).all()
    return [(c, o, n) for c, o, n in rows]


async def get_for_customer(session: AsyncSession, *, customer_id: int, coupon_id: int) -> tuple[Coupon, Offer, str]:
    row = (
        await session.execute(
            select(Coupon, Offer, Merchant.name)
            .join(Offer, Offer.id == Coupon.offer_id)
            .join(Merchant, Merchant.id == Coupon.merchant_id)
            .where(Coupon.id == coupon_id, Coupon.customer_id == customer_id)
        )
    ).first()
    if row is None:
        raise NotFound("coupon not found", coupon_id=coupon_id)
    return row[0], row[1], row[2]
