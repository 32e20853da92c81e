"""Real concurrent requests through the ASGI apps (RELIABILITY C1, C2):
one code, 50 tills → redeemed once; 300 customers, stock 100 → exactly 100 coupons;
a per-customer limit holds under concurrency; the ledger verifies afterwards."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from alliance_app.app import create_app as create_alliance_app
from customer_app.app import create_app as create_customer_app
from shared.alliance.coupons import code_of
from shared.ledger import service as ledger
from shared.models import Asset, Coupon, LedgerAccount, Offer, Redemption
from shared.settings import Settings
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_coupon, create_funded_customers, create_offer, grant
from tests.services.alliance.helpers import with_key

# The Postgres server is shared by several test processes (max_connections = 100), so these apps
# run on small pools: requests are released together by a barrier and queue for 8 connections,
# so up to 8 transactions race inside Postgres at any moment, which is what the guards must
# survive. Long pool/lock/statement timeouts keep a loaded 2-core machine from turning a slow
# wait into a 503: the claims here are about correctness, not latency.
PATIENT = {
    "pool_size": 8,
    "max_overflow": 0,
    "pool_timeout_s": 120,
    "lock_timeout_ms": 60_000,
    "statement_timeout_ms": 90_000,
}


async def _client_for(factory, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = factory(settings.model_copy(update=PATIENT))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=180) as c,
    ):
        yield c


@pytest.fixture(autouse=True)
async def _release_idle_connections(engine, request: pytest.FixtureRequest) -> None:
    """Hand idle pooled connections back to the shared server before a race, so these tests
    do not push it past max_connections while other test processes run."""
    await engine.dispose()
    for app in _started_apps(request):
        await app.state.engine.dispose()


def _started_apps(request: pytest.FixtureRequest) -> list:
    """Session-scoped app fixtures that earlier tests already started (never start new ones)."""
    apps = []
    manager = request._fixturemanager
    for name in ("alliance_app", "customer_app", "admin_app", "manager_app"):
        for fixturedef in manager.getfixturedefs(name, request.node) or ():
            cached = getattr(fixturedef, "cached_result", None)
            if cached and cached[0] is not None:
                apps.append(cached[0])
    return apps


@pytest.fixture(scope="module")
async def customer_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client_for(create_customer_app, settings):
        yield c


@pytest.fixture(scope="module")
async def merchant_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # Every till lookup holds a slot of the merchant's guess budget while it runs (10 by default),
    # so 50 simultaneous lookups by one merchant would mostly get 429 before reaching the code.
    # These races are about redeeming exactly once; the budget has its own burst test.
    async for c in _client_for(create_alliance_app, settings.model_copy(update={"till_guess_limit": 100})):
        yield c


async def test_fifty_tills_redeem_one_code_once(merchant_api, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        c = await create_customer(s)
        coupon = await create_coupon(s, offer_id=offer.id, customer_id=c.id)
    mer = tokens.merchant(m.id)

    async def till(i: int) -> httpx.Response:
        return await merchant_api.post(
            "/v1/coupons/redeem", json={"code": code_of(coupon)}, headers=with_key(mer, f"till-{m.id}-{i:04d}")
        )

    responses = await gather_concurrently(50, till)
    assert not [r for r in responses if isinstance(r, BaseException)], responses
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 409}, statuses
    assert all(r.json()["error"] == "already_redeemed" for r in responses if r.status_code == 409)
    async with sm() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Redemption).where(Redemption.coupon_id == coupon.id)) == 1
        )
        assert (await s.get(Coupon, coupon.id)).status == "redeemed"


async def test_same_request_key_fifty_times_is_one_redemption(merchant_api, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        c = await create_customer(s)
        coupon = await create_coupon(s, offer_id=offer.id, customer_id=c.id)
    headers = with_key(tokens.merchant(m.id), f"till-retry-{m.id}")

    responses = await gather_concurrently(
        50, lambda i: merchant_api.post("/v1/coupons/redeem", json={"code": code_of(coupon)}, headers=headers)
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1  # byte-identical replays
    async with sm() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Redemption).where(Redemption.coupon_id == coupon.id)) == 1
        )


@pytest.mark.slow
async def test_three_hundred_customers_race_for_stock_of_one_hundred(customer_api, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id, stock=100, price_points=100, per_customer_limit=1)
        ids = await create_funded_customers(s, 300, 250)

    async def buy(i: int) -> httpx.Response:
        return await customer_api.post(
            f"/v1/coupons/offers/{offer.id}/exchange",
            json={"pay_with": "points"},
            headers=with_key(tokens.customer(ids[i])),
        )

    responses = await gather_concurrently(300, buy)
    assert not [r for r in responses if isinstance(r, BaseException)], responses[:3]
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 100, 409: 200}, (
        statuses,
        [r.text for r in responses if r.status_code not in (201, 409)][:3],
    )
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"sold_out"}
    async with sm() as s:
        assert await s.scalar(select(Offer.stock_left).where(Offer.id == offer.id)) == 0
        assert await s.scalar(select(func.count()).select_from(Coupon).where(Coupon.offer_id == offer.id)) == 100
        spent = await s.scalar(
            select(func.sum(250 - LedgerAccount.balance)).where(
                LedgerAccount.asset == Asset.POINTS, LedgerAccount.kind == "customer", LedgerAccount.owner_id.in_(ids)
            )
        )
        assert spent == 100 * 100  # exactly the winners paid, once each
        assert (
            len(
                await s.scalar(select(func.count(func.distinct(Coupon.code_hash))).where(Coupon.offer_id == offer.id))
                * "x"
            )
            == 100
        )
        report = await ledger.verify(s)
        assert report["ok"], report


async def test_per_customer_limit_holds_under_concurrency(customer_api, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id, stock=100, price_points=10, per_customer_limit=2)
        c = await create_customer(s)
        await grant(s, c.id, 10_000)
    cust = tokens.customer(c.id)

    responses = await gather_concurrently(
        30, lambda i: customer_api.post(f"/v1/coupons/offers/{offer.id}/exchange", json={}, headers=with_key(cust))
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 2, 409: 28}, statuses
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"per_customer_limit_reached"}
    async with sm() as s:
        assert (
            await s.scalar(
                select(func.count()).select_from(Coupon).where(Coupon.offer_id == offer.id, Coupon.customer_id == c.id)
            )
            == 2
        )
        assert await ledger.balance_of(s, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 10_000 - 20
        assert (await ledger.verify(s))["ok"]


async def test_one_exchange_key_sent_fifty_times_buys_once(customer_api, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id, stock=100, price_points=10, per_customer_limit=5)
        c = await create_customer(s)
        await grant(s, c.id, 1000)
    headers = with_key(tokens.customer(c.id), f"buy-once-{c.id}")
    responses = await gather_concurrently(
        50, lambda i: customer_api.post(f"/v1/coupons/offers/{offer.id}/exchange", json={}, headers=headers)
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49
    async with sm() as s:
        assert await ledger.balance_of(s, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 990
