"""Airtime balance opening, add-on orders and cancellations through the ledger."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from shared.business import orders
from shared.errors import IdempotencyKeyReused, InsufficientFunds, NotFound
from shared.ledger import airtime as balance
from shared.ledger import service as ledger
from shared.models import AccountKind, Asset
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_product
from tests.fixtures.factories_customer import create_usage

MONTH = date(2026, 1, 1)


async def _airtime(session, customer_id: int) -> int:  # type: ignore[no-untyped-def]
    return await ledger.balance_of(session, asset=Asset.AIRTIME, kind=AccountKind.CUSTOMER, owner_id=customer_id)


async def _customer_with_balance(session, fen: int, **kw):  # type: ignore[no-untyped-def]
    await session.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
    c = await create_customer(session, **kw)
    await create_usage(session, c.id, MONTH, balance_end_fen=fen)
    return c


class TestAirtimeAccount:
    async def test_opens_once_with_latest_closing_balance(self, db) -> None:
        c = await _customer_with_balance(db, 4321)
        first = await balance.airtime_account(db, c.id)
        again = await balance.airtime_account(db, c.id)
        assert first == again and await _airtime(db, c.id) == 4321

    async def test_concurrent_first_use_opens_once(self, sm) -> None:
        async with sm.begin() as s:
            c = await _customer_with_balance(s, 1000)

        async def one(i: int) -> int:
            async with sm.begin() as s:
                return await balance.airtime_account(s, c.id)

        ids = await gather_concurrently(20, one)
        assert len(set(ids)) == 1, ids
        async with sm() as s:
            assert await _airtime(s, c.id) == 1000
            assert (await ledger.verify(s))["ok"]


class TestPlaceOrder:
    async def test_charges_balance_and_sets_dates(self, db) -> None:
        c = await _customer_with_balance(db, 5000)
        p = await create_product(db, kind="data_pack", monthly_fee_fen=3000, duration_months=1)
        sub = await orders.place_order(db, customer_id=c.id, product_id=p.id, key="o1", channel="app")
        assert sub.charge_fen == 3000 and sub.status == "active" and sub.ends_on is not None
        assert await _airtime(db, c.id) == 2000
        same = await orders.place_order(db, customer_id=c.id, product_id=p.id, key="o1", channel="app")
        assert same.id == sub.id and await _airtime(db, c.id) == 2000
        other = await create_product(db)
        with pytest.raises(IdempotencyKeyReused):
            await orders.place_order(db, customer_id=c.id, product_id=other.id, key="o1", channel="app")

    async def test_refusals(self, db) -> None:
        c = await _customer_with_balance(db, 100, tier="star1")
        vip = await create_product(db, eligibility={"min_tier": "star5"})
        with pytest.raises(orders.NotEligible) as err:
            await orders.place_order(db, customer_id=c.id, product_id=vip.id, key="v", channel="app")
        assert err.value.context["reasons"] == ["tier_too_low"]
        pricey = await create_product(db, monthly_fee_fen=999_00)
        with pytest.raises(InsufficientFunds):
            async with db.begin_nested():
                await orders.place_order(db, customer_id=c.id, product_id=pricey.id, key="p", channel="app")
        with pytest.raises(NotFound):
            await orders.place_order(db, customer_id=c.id, product_id=2_000_000_000, key="n", channel="app")
        plan = await create_product(db, kind="plan")
        with pytest.raises(orders.NotEligible):
            await orders.place_order(db, customer_id=c.id, product_id=plan.id, key="q", channel="app")

    async def test_max_per_customer_holds_under_concurrency(self, sm) -> None:
        async with sm.begin() as s:
            c = await _customer_with_balance(s, 100_000)
            p = await create_product(s, kind="membership", monthly_fee_fen=1500, eligibility={"max_per_customer": 1})

        async def one(i: int):  # type: ignore[no-untyped-def]
            async with sm.begin() as s:
                return await orders.place_order(s, customer_id=c.id, product_id=p.id, key=f"m{i}", channel="app")

        results = await gather_concurrently(20, one)
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert all(isinstance(r, orders.NotEligible) for r in results if isinstance(r, Exception))
        async with sm() as s:
            assert await _airtime(s, c.id) == 100_000 - 1500


class TestCancel:
    async def test_cancel_future_contract_refunds_once(self, db) -> None:
        c = await _customer_with_balance(db, 10_000)
        p = await create_product(db, kind="contract", monthly_fee_fen=5000, one_time_fee_fen=2000, duration_months=12)
        sub = await orders.place_order(db, customer_id=c.id, product_id=p.id, key="c1", channel="app")
        assert sub.starts_on > date.today().replace(day=1) and await _airtime(db, c.id) == 8000
        done = await orders.cancel_order(db, customer_id=c.id, subscription_id=sub.id, key="x1")
        again = await orders.cancel_order(db, customer_id=c.id, subscription_id=sub.id, key="x2")
        assert done.status == again.status == "cancelled" and await _airtime(db, c.id) == 10_000

    async def test_cannot_cancel_someone_elses(self, db) -> None:
        a = await _customer_with_balance(db, 10_000)
        b = await create_customer(db)
        p = await create_product(db)
        sub = await orders.place_order(db, customer_id=a.id, product_id=p.id, key="k", channel="app")
        with pytest.raises(NotFound):
            await orders.cancel_order(db, customer_id=b.id, subscription_id=sub.id, key="k")
