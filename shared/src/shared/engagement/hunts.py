"""Treasure hunts (寻宝): spots to find, a prize pool with fixed budgets, secure draws.

Budgets are ledger-visible: when a points / data_mb / airtime_fen prize is created, its whole
budget (budget x amount) moves from the asset's issuance account into a prize-pool account
(kind prize_pool, owner = prize id, may not go negative). A win moves `amount` from that pool to
the customer. Coupon prizes take stock through `shared.alliance.coupons.issue_coupon`.

A play, in one transaction:
1. per (hunt, customer) advisory lock, then the daily play limit (Asia/Shanghai day) is checked;
2. the draw uses `secrets.randbelow` against the prizes' weights (parts per million per play);
3. the drawn prize's `remaining` is decremented by one guarded UPDATE (`remaining > 0`), so a
   pool can never pay beyond its budget however many plays race (the CHECK is the backstop);
4. the award goes through the ledger (or issue_coupon) and the play row is written with it.
For points / data / airtime prizes, steps 3-4 are one statement (sql/hunt_award.sql) run last,
so the popular prize row is locked only for that statement and the commit. A replayed
idempotency key returns the first play's result (UNIQUE (customer_id, key)).

Merchant till spots (kind merchant_code) are played with their signed QR payload
(`spot_codes`, what the merchant's `GET :8003/v1/me/spots` hands out), never with the bare code,
and only while their merchant is approved. Each customer plays a till spot once: the play
inserts (hunt, spot, customer) into `hunt_spot_claims`, whose primary key refuses a replay
(409), however many scans race. In-app spots keep the daily play limit only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance.coupons import issue_coupon
from shared.db.locking import Lock, advisory_lock
from shared.engagement import spot_codes
from shared.errors import (
    Conflict,
    Gone,
    IdempotencyKeyReused,
    InsufficientFunds,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from shared.ledger import bulk
from shared.ledger import service as ledger
from shared.ledger.airtime import airtime_account
from shared.models import (
    AccountKind,
    Asset,
    HuntPlay,
    HuntPrize,
    HuntSpot,
    HuntSpotClaim,
    Merchant,
    MerchantStore,
    Offer,
    TreasureHunt,
)
from shared.points import rules
from shared.programme import settings as programme_settings

PRIZE_TYPES = ("points", "data_mb", "airtime_fen", "coupon")
LEDGER_PRIZES = {"points": Asset.POINTS, "data_mb": Asset.DATA, "airtime_fen": Asset.AIRTIME}
ISSUANCE = {"points": "points:issuance", "data_mb": "data:issuance", "airtime_fen": "airtime:issuance"}
ODDS_SCALE = 1_000_000
_AWARD = text(bulk.compose((Path(__file__).parent / "sql" / "hunt_award.sql").read_text()))


@dataclass(frozen=True, slots=True)
class PrizeSpec:
    prize_type: str
    amount: int
    budget: int
    weight: int
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class SpotSpec:
    kind: str  # app_page / merchant_code
    clue: str | None = None
    merchant_id: int | None = None
    code: str | None = None
    store_id: int | None = None


def new_spot_code() -> str:
    return "H" + secrets.token_urlsafe(12)


async def pool_account(session: AsyncSession, prize: HuntPrize) -> int:
    asset = LEDGER_PRIZES[prize.prize_type]
    return await ledger.owner_account(session, asset=asset, kind=AccountKind.PRIZE_POOL, owner_id=prize.id)


async def add_prize(session: AsyncSession, *, hunt: TreasureHunt, spec: PrizeSpec, actor: str) -> HuntPrize:
    """Add a prize type and fund its pool from issuance (key hunt_fund:<prize id>)."""
    if spec.prize_type not in PRIZE_TYPES:
        raise Unprocessable("unknown prize type", prize_type=spec.prize_type)
    if spec.prize_type == "coupon" and (spec.offer_id is None or await session.get(Offer, spec.offer_id) is None):
        raise NotFound("offer not found", offer_id=spec.offer_id)
    prize = HuntPrize(
        hunt_id=hunt.id,
        prize_type=spec.prize_type,
        amount=1 if spec.prize_type == "coupon" else spec.amount,
        offer_id=spec.offer_id,
        budget=spec.budget,
        remaining=spec.budget,
        weight=spec.weight,
    )
    session.add(prize)
    await session.flush()
    if spec.prize_type in LEDGER_PRIZES:
        asset = LEDGER_PRIZES[spec.prize_type]
        pool = await pool_account(session, prize)
        source = await ledger.system_account(session, ISSUANCE[spec.prize_type])
        await ledger.transfer(
            session,
            key=f"hunt_fund:{prize.id}",
            kind="hunt_fund",
            asset=asset,
            from_account=source,
            to_account=pool,
            amount=prize.budget * prize.amount,
            reference=f"hunt:{hunt.id}",
            actor=actor,
            memo={"prize_id": prize.id, "budget": prize.budget, "amount": prize.amount},
        )
    return prize


def odds_fit(weights: Iterable[int]) -> bool:
    """Whether prizes with these odds (parts per million per play) fit one play: 100% at most together."""
    return sum(weights) <= ODDS_SCALE


async def add_prize_to_hunt(
    session: AsyncSession, *, hunt_id: int, spec: PrizeSpec, actor: str
) -> tuple[TreasureHunt, HuntPrize]:
    """Add a prize to an active hunt and fund its pool, keeping the hunt's odds within 100%.

    The hunt row is locked first, so two additions cannot together push the odds past 100%.
    Raises NotFound, Gone (the hunt is closed), Unprocessable (odds), CouponPrizesUnavailable.
    """
    hunt = await session.scalar(select(TreasureHunt).where(TreasureHunt.id == hunt_id).with_for_update())
    if hunt is None:
        raise NotFound("hunt not found")
    if hunt.status != "active":
        raise Gone("this hunt is closed")
    weights = (await session.scalars(select(HuntPrize.weight).where(HuntPrize.hunt_id == hunt_id))).all()
    if not odds_fit([*weights, spec.weight]):
        raise Unprocessable("odds add up to more than 100%")
    return hunt, await add_prize(session, hunt=hunt, spec=spec, actor=actor)


async def add_spot(session: AsyncSession, *, hunt: TreasureHunt, spec: SpotSpec) -> HuntSpot:
    """Add a spot; a merchant-code spot needs an existing merchant (NotFound otherwise), and its
    store, when named, must be one of that merchant's (Unprocessable otherwise)."""
    if spec.merchant_id is not None and await session.get(Merchant, spec.merchant_id) is None:
        raise NotFound("merchant not found", merchant_id=spec.merchant_id)
    if spec.store_id is not None:
        store = await session.get(MerchantStore, spec.store_id)
        if store is None or store.merchant_id != spec.merchant_id:
            raise Unprocessable("store {store_id} is not one of this merchant's stores", store_id=spec.store_id)
    spot = HuntSpot(
        hunt_id=hunt.id,
        kind=spec.kind,
        code=spec.code or new_spot_code(),
        clue=spec.clue,
        merchant_id=spec.merchant_id,
        store_id=spec.store_id,
    )
    session.add(spot)
    await session.flush()
    return spot


async def create_hunt(
    session: AsyncSession,
    *,
    name: str,
    description: str | None,
    starts_at: datetime,
    ends_at: datetime,
    daily_play_limit: int,
    spots: list[SpotSpec],
    prizes: list[PrizeSpec],
    actor: str,
) -> TreasureHunt:
    """Create an active hunt with its spots and funded prize pools (all or nothing)."""
    if ends_at <= starts_at:
        raise Unprocessable("a hunt must end after it starts")
    if not odds_fit(p.weight for p in prizes):
        raise Unprocessable("prize odds add up to more than 100%")
    hunt = TreasureHunt(
        name=name,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        daily_play_limit=daily_play_limit,
        status="active",
    )
    session.add(hunt)
    await session.flush()
    for s in spots:
        await add_spot(session, hunt=hunt, spec=s)
    for p in prizes:
        await add_prize(session, hunt=hunt, spec=p, actor=actor)
    return hunt


async def close_hunt(session: AsyncSession, *, hunt_id: int, actor: str) -> TreasureHunt:
    """Close a hunt and return every unspent pool to issuance (key hunt_refund:<prize id>)."""
    hunt = await session.scalar(select(TreasureHunt).where(TreasureHunt.id == hunt_id).with_for_update())
    if hunt is None:
        raise NotFound("hunt not found")
    hunt.status = "closed"
    prizes = (await session.scalars(select(HuntPrize).where(HuntPrize.hunt_id == hunt_id).with_for_update())).all()
    for prize in prizes:
        await session.execute(update(HuntPrize).where(HuntPrize.id == prize.id).values(remaining=0))
        if prize.prize_type not in LEDGER_PRIZES:
            continue
        pool = await pool_account(session, prize)
        left = await ledger.balance_of(
            session, asset=LEDGER_PRIZES[prize.prize_type], kind=AccountKind.PRIZE_POOL, owner_id=prize.id
        )
        if left > 0:
            source = await ledger.system_account(session, ISSUANCE[prize.prize_type])
            await ledger.transfer(
                session,
                key=f"hunt_refund:{prize.id}",
                kind="hunt_refund",
                asset=LEDGER_PRIZES[prize.prize_type],
                from_account=pool,
                to_account=source,
                amount=left,
                reference=f"hunt:{hunt_id}",
                actor=actor,
            )
    await session.flush()
    return hunt


def draw(prizes: list[HuntPrize], roll: int | None = None) -> HuntPrize | None:
    """Pick a prize by weight from a uniform roll in [0, ODDS_SCALE) (secrets when not given)."""
    roll = secrets.randbelow(ODDS_SCALE) if roll is None else roll
    edge = 0
    for prize in sorted(prizes, key=lambda p: p.id):
        edge += prize.weight
        if roll < edge:
            return prize
    return None


async def live_hunt(session: AsyncSession, hunt_id: int, now: datetime) -> TreasureHunt:
    hunt = await session.get(TreasureHunt, hunt_id)
    if hunt is None or hunt.status == "draft":
        raise NotFound("hunt not found")
    if hunt.status != "active" or now >= hunt.ends_at:
        raise Gone("this hunt has ended", hunt_id=hunt_id)
    if now < hunt.starts_at:
        raise Conflict("this hunt has not started yet", starts_at=hunt.starts_at.isoformat())
    return hunt


async def _spot_of(session: AsyncSession, *, hunt_id: int, spot_code: str, now: datetime) -> HuntSpot:
    """The spot a scanned code names in this hunt.

    A signed till code: forged or malformed -> NotFound (like an unknown code), another hunt's ->
    Unprocessable, past its expiry -> Gone, its merchant no longer approved -> Gone. A bare code:
    in-app spots only (a till spot's bare code is refused like an unknown one).
    """
    if spot_codes.is_signed(spot_code):
        token = spot_codes.verify(spot_code)
        if token is None:
            raise NotFound("spot not found")
        if token.hunt_id != hunt_id:
            raise Unprocessable("this spot code belongs to another hunt", hunt_id=token.hunt_id)
        if now >= token.expires_at:
            raise Gone("this spot code has expired", expired_at=token.expires_at.isoformat())
        spot = await session.get(HuntSpot, token.spot_id)
        if spot is None or spot.hunt_id != hunt_id or spot.kind != "merchant_code":
            raise NotFound("spot not found")
        status = await session.scalar(select(Merchant.status).where(Merchant.id == spot.merchant_id))
        if status != "approved":
            raise Gone("this spot is no longer active", spot_id=spot.id)
        return spot
    spot = await session.scalar(
        select(HuntSpot).where(HuntSpot.code == spot_code, HuntSpot.hunt_id == hunt_id, HuntSpot.kind == "app_page")
    )
    if spot is None:
        raise NotFound("spot not found")
    return spot


def qr_payload(spot: HuntSpot, hunt: TreasureHunt) -> str | None:
    """A till spot's signed QR payload (valid until the hunt ends); None for in-app spots."""
    if spot.kind != "merchant_code":
        return None
    return spot_codes.sign(hunt_id=hunt.id, spot_id=spot.id, expires_at=hunt.ends_at)


@dataclass(frozen=True, slots=True)
class MerchantSpot:
    spot: HuntSpot
    hunt: TreasureHunt
    store: MerchantStore | None
    players: int
    qr_payload: str


async def merchant_spots(
    session: AsyncSession, *, merchant_id: int, now: datetime, spot_id: int | None = None
) -> list[MerchantSpot]:
    """The till spots of this merchant in hunts that are active and not over, with their QR payloads.

    With `spot_id`, that one spot only (an empty list when it is not this merchant's).
    """
    players = (
        select(func.count())
        .select_from(HuntSpotClaim)
        .where(HuntSpotClaim.spot_id == HuntSpot.id)
        .scalar_subquery()
        .label("players")
    )
    stmt = (
        select(HuntSpot, TreasureHunt, MerchantStore, players)
        .join(TreasureHunt, TreasureHunt.id == HuntSpot.hunt_id)
        .outerjoin(MerchantStore, MerchantStore.id == HuntSpot.store_id)
        .where(
            HuntSpot.merchant_id == merchant_id,
            HuntSpot.kind == "merchant_code",
            TreasureHunt.status == "active",
            TreasureHunt.ends_at > now,
        )
        .order_by(TreasureHunt.ends_at, HuntSpot.id)
        .limit(200)
    )
    if spot_id is not None:
        stmt = stmt.where(HuntSpot.id == spot_id)
    rows = (await session.execute(stmt)).all()
    return [
        MerchantSpot(
            spot=spot,
            hunt=hunt,
            store=store,
            players=int(n or 0),
            qr_payload=spot_codes.sign(hunt_id=hunt.id, spot_id=spot.id, expires_at=hunt.ends_at),
        )
        for spot, hunt, store, n in rows
    ]


async def _award_coupon(session: AsyncSession, *, prize: HuntPrize, customer_id: int, play_key: str) -> dict[str, Any]:
    assert prize.offer_id is not None  # add_prize refuses a coupon prize without an offer
    coupon = await issue_coupon(session, offer_id=prize.offer_id, customer_id=customer_id, key=play_key, source="hunt")
    return {
        "prize_type": "coupon",
        "offer_id": prize.offer_id,
        "coupon_id": coupon.id,
        "expires_at": coupon.expires_at.isoformat(),
    }


async def play(
    session: AsyncSession,
    *,
    hunt_id: int,
    customer_id: int,
    spot_code: str,
    key: str,
    now: datetime,
    today: date,
    roll: int | None = None,
) -> HuntPlay:
    """One play at a spot; see the module docstring for the guarantees.

    Raises NotFound (hunt or spot), Gone (ended; an expired or inactive till code), Conflict (not
    started; a till spot this customer already played), Unprocessable (another hunt's till code),
    TooManyRequests (daily limit), IdempotencyKeyReused.
    """
    hunt = await live_hunt(session, hunt_id, now)
    spot = await _spot_of(session, hunt_id=hunt_id, spot_code=spot_code, now=now)
    play_key = f"hunt:{hunt_id}:{customer_id}:{key}"[:120]
    # Queueing behind a popular prize row (or one's own parallel plays) is expected in a burst:
    # wait for it, within the statement timeout, rather than fail the play.
    await session.execute(text("SET LOCAL lock_timeout = '12s'"))
    await advisory_lock(session, Lock.HUNT_PLAY, f"{hunt_id}:{customer_id}")
    done = await session.scalar(
        select(HuntPlay).where(HuntPlay.customer_id == customer_id, HuntPlay.idempotency_key == key)
    )
    if done is not None:
        if done.hunt_id != hunt_id or done.spot_id != spot.id:
            raise IdempotencyKeyReused("this key was used for another play", key=key)
        return done
    if spot.kind == "merchant_code":
        claimed = await session.scalar(
            insert(HuntSpotClaim)
            .values(hunt_id=hunt_id, spot_id=spot.id, customer_id=customer_id)
            .on_conflict_do_nothing()
            .returning(HuntSpotClaim.spot_id)
        )
        if claimed is None:
            raise Conflict("you have already played at this spot", spot_id=spot.id)
    played = await session.scalar(
        select(func.count())
        .select_from(HuntPlay)
        .where(HuntPlay.customer_id == customer_id, HuntPlay.hunt_id == hunt_id, HuntPlay.local_date == today)
    )
    if int(played or 0) >= hunt.daily_play_limit:
        raise TooManyRequests("no plays left today", limit=hunt.daily_play_limit, retry_after_s=3600)
    prizes = list(
        (await session.scalars(select(HuntPrize).where(HuntPrize.hunt_id == hunt_id, HuntPrize.remaining > 0))).all()
    )
    picked = draw(prizes, roll)
    if picked is not None and picked.prize_type in LEDGER_PRIZES:
        return await _ledger_win(
            session,
            hunt_id=hunt_id,
            customer_id=customer_id,
            spot_id=spot.id,
            key=key,
            play_key=play_key,
            prize=picked,
            today=today,
        )
    result: dict[str, Any] = {"won": False}
    prize_id = None
    if picked is not None:
        try:
            # A savepoint, so a merchant coupon that cannot be issued (sold out, limit) becomes
            # "no win" with the pool untouched instead of failing the play.
            async with session.begin_nested():
                taken = await session.scalar(
                    update(HuntPrize)
                    .where(HuntPrize.id == picked.id, HuntPrize.remaining > 0)
                    .values(remaining=HuntPrize.remaining - 1)
                    .returning(HuntPrize.id)
                )
                if taken is not None:  # else the last one went to a concurrent play: no win
                    result = {
                        "won": True,
                        "prize_id": picked.id,
                        **await _award_coupon(session, prize=picked, customer_id=customer_id, play_key=play_key),
                    }
                    prize_id = picked.id
        except Conflict:
            result = {"won": False}
    row = HuntPlay(
        hunt_id=hunt_id,
        customer_id=customer_id,
        spot_id=spot.id,
        local_date=today,
        prize_id=prize_id,
        idempotency_key=key,
        result=result,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row, ["created_at"])
    return row


async def _ledger_win(
    session: AsyncSession,
    *,
    hunt_id: int,
    customer_id: int,
    spot_id: int,
    key: str,
    play_key: str,
    prize: HuntPrize,
    today: date,
) -> HuntPlay:
    """Open the destination account first (cold rows), then run the one hot statement."""
    asset = LEDGER_PRIZES[prize.prize_type]
    pool = await pool_account(session, prize)
    if prize.prize_type == "airtime_fen":
        dest = await airtime_account(session, customer_id)
    else:
        dest = await ledger.customer_account(session, customer_id, asset)
    expires = None
    if prize.prize_type == "points":
        expires = rules.expires_on(await programme_settings.get(session, programme_settings.POINTS_EXPIRY), today)
    row = (
        await session.execute(
            _AWARD,
            {
                "prize_id": prize.id,
                "lkey": f"hunt_win:{play_key}",
                "hunt_id": hunt_id,
                "ikey": key,
                "pool": pool,
                "dest": dest,
                "asset": str(asset),
                "cid": customer_id,
                "expires_on": expires,
                "spot_id": spot_id,
                "day": today,
                "prize_type": prize.prize_type,
            },
        )
    ).one()
    if row.txn_id is not None and (row.moved, row.legs) != (2, 2):
        # The pool holds less than its remaining count promises: refuse rather than overpay.
        raise InsufficientFunds("this prize has run out", prize_type=prize.prize_type)
    if row.txn_id is None and row.prize_taken is not None:
        # The win's ledger key was posted before (a truncated play key colliding): pay nothing twice.
        raise Conflict("the change conflicts with existing data")
    # Built from RETURNING (no further round trip while the prize row is locked).
    return HuntPlay(
        id=row.play_id,
        hunt_id=hunt_id,
        customer_id=customer_id,
        spot_id=spot_id,
        local_date=today,
        prize_id=prize.id if row.txn_id else None,
        idempotency_key=key,
        result=row.result,
        created_at=row.created_at,
    )


async def plays_left(session: AsyncSession, *, hunt: TreasureHunt, customer_id: int, today: date) -> int:
    played = await session.scalar(
        select(func.count())
        .select_from(HuntPlay)
        .where(HuntPlay.customer_id == customer_id, HuntPlay.hunt_id == hunt.id, HuntPlay.local_date == today)
    )
    return max(0, hunt.daily_play_limit - int(played or 0))


def utcnow() -> datetime:
    return datetime.now(UTC)
