"""Coupon issue and exchange: stock guard, per-customer limit, idempotency, payment, codes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.alliance import coupons as coupon_service
from shared.alliance.coupons import code_of
from shared.alliance.errors import LimitReached, SoldOut
from shared.errors import IdempotencyKeyReused, InsufficientFunds, NotFound
from shared.ledger import service as ledger
from shared.models import Asset, Offer
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_offer, grant


class TestIssueCoupon:
    async def test_issues_once_per_key_and_takes_stock(self, db) -> None:
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, stock=5, per_customer_limit=3)
        c = await create_customer(db)
        first = await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=c.id, key="hunt-1", source="hunt")
        again = await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=c.id, key="hunt-1", source="hunt")
        assert first.id == again.id and first.status == "issued" and first.source == "hunt"
        assert len(code_of(first)) == coupon_service.CODE_LENGTH and set(code_of(first)) <= set(coupon_service.ALPHABET)
        await db.refresh(offer)
        assert offer.stock_left == 4
        with pytest.raises(IdempotencyKeyReused):
            other = await create_offer(db, merchant_id=m.id)
            await coupon_service.issue_coupon(db, offer_id=other.id, customer_id=c.id, key="hunt-1", source="hunt")

    async def test_limit_and_stock_are_enforced(self, db) -> None:
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, stock=2, per_customer_limit=1)
        a, b, c = [await create_customer(db) for _ in range(3)]
        await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=a.id, key="k-a", source="campaign")
        with pytest.raises(LimitReached):
            await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=a.id, key="k-a2", source="campaign")
        await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=b.id, key="k-b", source="campaign")
        with pytest.raises(SoldOut):
            await coupon_service.issue_coupon(db, offer_id=offer.id, customer_id=c.id, key="k-c", source="campaign")

    async def test_unapproved_or_expired_offers_are_not_found(self, db) -> None:
        m = await create_merchant(db)
        c = await create_customer(db)
        pending = await create_offer(db, merchant_id=m.id, status="pending")
        with pytest.raises(NotFound):
            await coupon_service.issue_coupon(db, offer_id=pending.id, customer_id=c.id, key="p-1", source="campaign")
        suspended = await create_merchant(db, status="suspended")
        live = await create_offer(db, merchant_id=suspended.id)
        with pytest.raises(NotFound):
            await coupon_service.issue_coupon(db, offer_id=live.id, customer_id=c.id, key="p-2", source="campaign")

    def test_codes_are_long_and_unpredictable(self) -> None:
        codes = {coupon_service.new_code() for _ in range(2000)}
        assert len(codes) == 2000
        assert coupon_service.CODE_LENGTH * 5 >= 80  # bits
        code = coupon_service.new_code()
        assert coupon_service.normalise_code(coupon_service.qr_payload(code)) == code
        assert coupon_service.normalise_code(f" {code[:5].lower()}-{code[5:]} ") == code


class TestExchange:
    async def test_points_exchange_pays_through_the_ledger(self, db) -> None:
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, price_points=150, stock=3)
        c = await create_customer(db)
        await grant(db, c.id, 200)
        coupon = await coupon_service.exchange(db, offer_id=offer.id, customer_id=c.id, key="x-1", pay_with="points")
        assert coupon.paid_points == 150
        assert await ledger.balance_of(db, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 50
        replay = await coupon_service.exchange(db, offer_id=offer.id, customer_id=c.id, key="x-1", pay_with="points")
        assert replay.id == coupon.id
        assert await ledger.balance_of(db, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 50
        assert (await ledger.verify(db))["ok"]

    async def test_airtime_exchange(self, db) -> None:
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, price_points=0, price_airtime_fen=300)
        c = await create_customer(db)
        await grant(db, c.id, 1000, Asset.AIRTIME)
        coupon = await coupon_service.exchange(db, offer_id=offer.id, customer_id=c.id, key="air-1", pay_with="airtime")
        assert coupon.paid_airtime_fen == 300
        assert await ledger.balance_of(db, asset=Asset.AIRTIME, kind="customer", owner_id=c.id) == 700

    async def test_insufficient_points_changes_nothing(self, db, sm) -> None:
        async with sm.begin() as s:
            m = await create_merchant(s)
            offer = await create_offer(s, merchant_id=m.id, price_points=500, stock=3)
            c = await create_customer(s)
            await grant(s, c.id, 100)
        with pytest.raises(InsufficientFunds):
            async with sm.begin() as s:
                await coupon_service.exchange(s, offer_id=offer.id, customer_id=c.id, key="poor-1", pay_with="points")
        async with sm() as s:
            assert (await s.scalar(select(Offer.stock_left).where(Offer.id == offer.id))) == 3
            assert await ledger.balance_of(s, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 100

    async def test_targeting_hides_offers_from_other_tiers(self, db) -> None:
        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, target_tiers=["gold", "diamond"])
        star = await create_customer(db, tier="star3")
        gold = await create_customer(db, tier="gold")
        await grant(db, star.id, 1000)
        await grant(db, gold.id, 1000)
        with pytest.raises(NotFound):
            await coupon_service.exchange(db, offer_id=offer.id, customer_id=star.id, key="t-1", pay_with="points")
        assert (
            await coupon_service.exchange(db, offer_id=offer.id, customer_id=gold.id, key="t-2", pay_with="points")
        ).id


class TestOfferApproval:
    async def test_an_offer_written_before_the_rules_is_not_approved_free(self, db) -> None:
        from shared.alliance import offers as offer_service
        from shared.alliance.errors import FreeOffer

        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id, price_points=0, price_airtime_fen=0, status="pending")
        with pytest.raises(FreeOffer):
            await offer_service.decide(db, offer_id=offer.id, approve=True)
        assert (await offer_service.decide(db, offer_id=offer.id, approve=False)).status == "rejected"


class TestCodesAtRest:
    async def test_the_table_holds_no_plain_code_and_the_till_finds_it_by_hash(self, db) -> None:
        from sqlalchemy import text

        from shared.alliance import codes, redemption
        from tests.fixtures.factories_alliance import create_coupon

        m = await create_merchant(db)
        offer = await create_offer(db, merchant_id=m.id)
        coupon = await create_coupon(db, offer_id=offer.id, customer_id=(await create_customer(db)).id)
        code = code_of(coupon)
        row = await db.scalar(text("SELECT CAST(c AS text) FROM coupons c WHERE id = :i"), {"i": coupon.id})
        assert code not in row and code.lower() not in row
        assert codes.lookup_hash(code) == coupon.code_hash != codes.lookup_hash(code, secret="another-key-" + "k" * 40)
        typed = f"{code[:5]}-{code[5:10]} {code[10:].lower()}"
        assert (await redemption.verify(db, merchant_id=m.id, code=typed)).coupon_id == coupon.id
        assert (
            await redemption.redeem(db, merchant_id=m.id, code=typed, request_key="till-hash-1")
        ).coupon.id == coupon.id
