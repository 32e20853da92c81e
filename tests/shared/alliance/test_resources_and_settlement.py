"""Operator budgets, merchant prepaid accounts, pack gifts, and settlement statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.alliance import packs, redemption, settlement
from shared.alliance.coupons import code_of
from shared.errors import InsufficientFunds
from shared.ledger import service as ledger
from shared.models import Asset
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_coupon, create_offer, create_pack


def _today() -> date:
    """The business day now; read per test, not at import, so a run that crosses midnight in Shanghai stays right."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


class TestPacks:
    async def test_gift_moves_price_and_resource_once(self, db) -> None:
        m = await create_merchant(db)
        c = await create_customer(db)
        pack = await create_pack(db, asset=Asset.DATA, amount=1024, price_fen=500)
        await packs.fund_budget(db, asset=Asset.DATA, amount=10_000, key=f"b-{m.id}", actor="test")
        await packs.topup_merchant(db, merchant_id=m.id, amount_fen=800, key="t1", actor="test")
        gift = await packs.gift_pack(db, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key="g-1")
        again = await packs.gift_pack(db, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key="g-1")
        assert again.replayed and again.gift.id == gift.gift.id
        assert await packs.prepaid_balance(db, m.id) == 300
        assert await ledger.balance_of(db, asset=Asset.DATA, kind="customer", owner_id=c.id) == 1024
        with pytest.raises(InsufficientFunds):  # 300 left, pack costs 500
            await packs.gift_pack(db, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key="g-2")

    async def test_budget_cannot_be_overdrawn(self, db, sm) -> None:
        async with sm.begin() as s:
            m = await create_merchant(s)
            c = await create_customer(s)
            pack = await create_pack(s, asset=Asset.POINTS, amount=10**9, price_fen=0)
        with pytest.raises(InsufficientFunds):
            async with sm.begin() as s:
                await packs.gift_pack(s, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key="huge")
        async with sm() as s:
            assert await ledger.balance_of(s, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 0


class TestSettlement:
    async def test_statement_is_stored_and_recomputes_equal(self, db) -> None:
        first_day = _today()
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, settlement_fen=1500, per_customer_limit=5)
        c = await create_customer(db)
        codes = [code_of(await create_coupon(db, offer_id=offer.id, customer_id=c.id)) for _ in range(3)]
        done = [
            await redemption.redeem(db, merchant_id=m.id, code=code, request_key=f"r-{i}")
            for i, code in enumerate(codes)
        ]
        await redemption.reverse(db, merchant_id=m.id, redemption_id=done[0].redemption.id, key="rev-0")
        pack = await create_pack(db, asset=Asset.DATA, amount=100, price_fen=250)
        await packs.fund_budget(db, asset=Asset.DATA, amount=1000, key=f"b-{m.id}", actor="test")
        await packs.topup_merchant(db, merchant_id=m.id, amount_fen=1000, key="t", actor="test")
        await packs.gift_pack(db, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key="g")

        last_day = _today()  # the period spans the whole test even if midnight passed while it ran
        stored = await settlement.generate(db, merchant_id=m.id, period_start=first_day, period_end=last_day)
        assert stored.lines["redemptions"] == {"count": 3, "settlement_fen": 4500}
        assert stored.lines["reversals"] == {"count": 1, "settlement_fen": 1500}
        assert stored.lines["packs"]["count"] == 1 and stored.lines["packs"]["price_fen"] == 250
        assert stored.lines["packs"]["ledger_paid_fen"] == 250 and stored.lines["packs"]["resources"] == {
            "data_mb": 100
        }
        assert stored.lines["prepaid"]["topups_fen"] == 1000
        assert (stored.operator_owes_fen, stored.merchant_owes_fen) == (3000, 1000)
        assert await settlement.matches_ledger(db, stored)
        # an earlier period is empty, and generating again converges on the same row
        empty = await settlement.recompute(
            db, merchant_id=m.id, period_start=first_day - timedelta(days=40), period_end=first_day - timedelta(days=10)
        )
        assert empty.operator_owes_fen == 0 and empty.lines["redemptions"]["count"] == 0
        again = await settlement.generate(db, merchant_id=m.id, period_start=first_day, period_end=last_day)
        assert again.id == stored.id
        settled = await settlement.mark_settled(db, settlement_id=stored.id)
        assert settled.status == "settled" and settled.settled_at is not None
        assert (await ledger.verify(db))["ok"]

    async def test_tampered_statement_no_longer_matches(self, db) -> None:
        m = await create_merchant(db)
        stored = await settlement.generate(db, merchant_id=m.id, period_start=_today(), period_end=_today())
        assert await settlement.matches_ledger(db, stored)
        stored.operator_owes_fen += 1
        await db.flush()
        assert not await settlement.matches_ledger(db, stored)


def test_now_is_aware() -> None:
    assert datetime.now(UTC).tzinfo is not None
