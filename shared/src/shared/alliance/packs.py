"""Operator resources in the alliance.

- Operator budgets: the back office moves points, airtime or data from the operator's issuance
  account into `alliance:budget:<asset>` (no overdraft).
- Merchant prepaid accounts (airtime_fen, kind merchant): topped up by the back office.
- Packs: a merchant buys an operator pack and gifts it to a subscriber by phone. In ONE
  transaction: the price moves from the merchant's prepaid account to `alliance:packs:revenue`,
  the pack's amount moves from the alliance budget of its asset to the subscriber, and a
  `pack_gifts` row records it. Both ledger transactions and the row are keyed by the merchant's
  request key, so a retry gifts nothing twice; either balance short → InsufficientFunds (402)
  and nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance import accounts, onboarding
from shared.errors import IdempotencyKeyReused, NotFound, Unprocessable
from shared.ledger import service as ledger
from shared.models import Asset, Customer, LedgerAccount, OperatorPack, PackGift

PACK_ASSETS = (Asset.DATA, Asset.AIRTIME, Asset.POINTS)


@dataclass(frozen=True, slots=True)
class Gift:
    gift: PackGift
    pack: OperatorPack
    phone: str
    replayed: bool


async def fund_budget(session: AsyncSession, *, asset: str, amount: int, key: str, actor: str) -> int:
    """Operator contributes `amount` of `asset` to the alliance; returns the new budget balance."""
    if asset not in accounts.BUDGET_ASSETS:
        raise Unprocessable("unknown asset", asset=asset)
    budget = await accounts.budget_account(session, asset)
    await ledger.transfer(
        session,
        key=f"alliance:budget:{key}",
        kind="alliance.budget_fund",
        asset=asset,
        from_account=await ledger.system_account(session, accounts.ISSUANCE[Asset(asset)]),
        to_account=budget,
        amount=amount,
        actor=actor,
    )
    return int(await session.scalar(select(LedgerAccount.balance).where(LedgerAccount.id == budget)) or 0)


async def topup_merchant(session: AsyncSession, *, merchant_id: int, amount_fen: int, key: str, actor: str) -> int:
    """Credit a merchant's prepaid account (money received from the merchant); returns the balance."""
    await onboarding.get(session, merchant_id)
    account = await accounts.merchant_prepaid_account(session, merchant_id)
    await ledger.transfer(
        session,
        key=f"alliance:topup:{merchant_id}:{key}",
        kind="alliance.merchant_topup",
        asset=Asset.AIRTIME,
        from_account=await accounts.named_account(
            session, accounts.PREPAID_FUNDING, asset=Asset.AIRTIME, allow_negative=True
        ),
        to_account=account,
        amount=amount_fen,
        reference=f"merchant:{merchant_id}",
        actor=actor,
    )
    return await prepaid_balance(session, merchant_id)


async def prepaid_balance(session: AsyncSession, merchant_id: int) -> int:
    return int(
        await session.scalar(
            select(LedgerAccount.balance).where(
                LedgerAccount.id == await accounts.merchant_prepaid_account(session, merchant_id)
            )
        )
        or 0
    )


async def create_pack(
    session: AsyncSession, *, code: str, name: str, asset: str, amount: int, price_fen: int
) -> OperatorPack:
    if asset not in PACK_ASSETS or amount <= 0 or price_fen < 0:
        raise Unprocessable("pack needs a known asset, a positive amount and a non-negative price")
    pack = OperatorPack(code=code, name=name, asset=asset, amount=amount, price_fen=price_fen, active=True)
    session.add(pack)
    await session.flush()
    return pack


async def list_packs(session: AsyncSession, *, active_only: bool = True) -> list[OperatorPack]:
    stmt = select(OperatorPack).order_by(OperatorPack.id)
    if active_only:
        stmt = stmt.where(OperatorPack.active.is_(True))
    return list((await session.scalars(stmt)).all())


async def _prior(
    session: AsyncSession, *, merchant_id: int, request_key: str, pack_id: int, customer_id: int
) -> Gift | None:
    row = (
        await session.execute(
            select(PackGift, OperatorPack, Customer.phone)
            .join(OperatorPack, OperatorPack.id == PackGift.pack_id)
            .join(Customer, Customer.id == PackGift.customer_id)
            .where(PackGift.merchant_id == merchant_id, PackGift.request_key == request_key)
        )
    ).first()
    if row is None:
        return None
    gift, pack, phone = row
    if gift.pack_id != pack_id or gift.customer_id != customer_id:
        raise IdempotencyKeyReused("this request key was used for another gift", key=request_key)
    return Gift(gift, pack, phone, replayed=True)


async def gift_pack(session: AsyncSession, *, merchant_id: int, pack_id: int, phone: str, request_key: str) -> Gift:
    """Buy one pack from prepaid funds and credit it to the subscriber with this phone number.

    Raises NotFound (pack or subscriber), InsufficientFunds (prepaid or alliance budget short),
    IdempotencyKeyReused, MerchantInactive.
    """
    await onboarding.ensure_active(session, merchant_id)
    pack = await session.scalar(select(OperatorPack).where(OperatorPack.id == pack_id, OperatorPack.active.is_(True)))
    if pack is None:
        raise NotFound("pack not found", pack_id=pack_id)
    customer_id = await session.scalar(select(Customer.id).where(Customer.phone == phone, Customer.status == "active"))
    if customer_id is None:
        raise NotFound("no active subscriber with this number")
    if prior := await _prior(
        session, merchant_id=merchant_id, request_key=request_key, pack_id=pack_id, customer_id=customer_id
    ):
        return prior
    gift = PackGift(
        merchant_id=merchant_id,
        pack_id=pack.id,
        customer_id=customer_id,
        price_fen=pack.price_fen,
        request_key=request_key,
    )
    session.add(gift)
    await session.flush()  # the UNIQUE (merchant_id, request_key) serialises concurrent duplicates here
    base = f"alliance:gift:{merchant_id}:{request_key}"
    if pack.price_fen > 0:
        await ledger.transfer(
            session,
            key=f"{base}:pay",
            kind="alliance.pack_purchase",
            asset=Asset.AIRTIME,
            from_account=await accounts.merchant_prepaid_account(session, merchant_id),
            to_account=await accounts.named_account(
                session, accounts.PACK_REVENUE, asset=Asset.AIRTIME, allow_negative=True
            ),
            amount=pack.price_fen,
            reference=f"pack_gift:{gift.id}",
            actor=f"merchant:{merchant_id}",
        )
    credit = await ledger.transfer(
        session,
        key=f"{base}:credit",
        kind="alliance.pack_gift",
        asset=pack.asset,
        from_account=await accounts.budget_account(session, pack.asset),
        to_account=await accounts.customer_asset_account(session, customer_id, pack.asset),
        amount=pack.amount,
        customer_id=customer_id,
        reference=f"pack_gift:{gift.id}",
        actor=f"merchant:{merchant_id}",
        memo={"merchant_id": merchant_id, "pack": pack.code},
    )
    gift.txn_id = credit.txn_id
    await session.flush()
    return Gift(gift, pack, phone, replayed=False)


async def list_gifts(
    session: AsyncSession, *, merchant_id: int, before_id: int | None, limit: int
) -> list[tuple[PackGift, OperatorPack, str]]:
    stmt = (
        select(PackGift, OperatorPack, Customer.phone)
        .join(OperatorPack, OperatorPack.id == PackGift.pack_id)
        .join(Customer, Customer.id == PackGift.customer_id)
        .where(PackGift.merchant_id == merchant_id)
    )
    if before_id:
        stmt = stmt.where(PackGift.id < before_id)
    return [(g, p, ph) for g, p, ph in (await session.execute(stmt.order_by(PackGift.id.desc()).limit(limit))).all()]
