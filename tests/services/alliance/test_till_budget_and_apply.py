"""The till's guess budget under a concurrent burst, and anonymous applications' idempotency keys
(issue 18): 50 simultaneous unknown codes get at most the budget's worth of evaluations; good
lookups give their slot back; two applicants sharing an Idempotency-Key never see each other."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from alliance_app.app import create_app as create_alliance_app
from shared.alliance.coupons import code_of
from shared.models import Merchant
from shared.settings import Settings
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_coupon, create_offer
from tests.services.alliance.helpers import error, with_key

PATIENT = {
    "pool_size": 8,
    "max_overflow": 0,
    "pool_timeout_s": 120,
    "lock_timeout_ms": 60_000,
    "statement_timeout_ms": 90_000,
}


@pytest.fixture(scope="module")
async def till_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_alliance_app(settings.model_copy(update=PATIENT))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=180) as c,
    ):
        yield c


async def test_fifty_concurrent_unknown_codes_get_at_most_the_budget(till_api, tokens, sm, settings) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        good = await create_coupon(
            s, offer_id=(await create_offer(s, merchant_id=m.id)).id, customer_id=(await create_customer(s)).id
        )
    mer = tokens.merchant(m.id)
    responses = await gather_concurrently(
        50, lambda i: till_api.post("/v1/coupons/verify", json={"code": f"GUESS{i:015d}"}, headers=mer)
    )
    counts = Counter(r.status_code for r in responses)
    assert counts[404] <= settings.till_guess_limit and counts[404] + counts[429] == 50, counts
    assert counts[404] >= 1, counts
    # the budget is spent on refusals: even a good code waits now
    for _ in range(settings.till_guess_limit - counts[404]):
        error(await till_api.post("/v1/coupons/verify", json={"code": "GUESS-AGAIN-0000000"}, headers=mer), 404)
    error(await till_api.post("/v1/coupons/verify", json={"code": code_of(good)}, headers=mer), 429)


async def test_a_concurrent_burst_of_redeems_is_held_to_the_budget_too(till_api, tokens, sm, settings) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
    mer = tokens.merchant(m.id)
    responses = await gather_concurrently(
        30, lambda i: till_api.post("/v1/coupons/redeem", json={"code": f"GUESS{i:015d}"}, headers=with_key(mer))
    )
    counts = Counter(r.status_code for r in responses)
    assert counts[404] <= settings.till_guess_limit and counts[404] + counts[429] == 30, counts


async def test_good_lookups_give_their_slot_back(alliance_client, tokens, sm, settings) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id, per_customer_limit=5)
        c = await create_customer(s)
        coupons = [await create_coupon(s, offer_id=offer.id, customer_id=c.id) for _ in range(3)]
    mer = tokens.merchant(m.id)
    budget = settings.till_guess_limit
    for i in range(budget - 1):
        error(await alliance_client.post("/v1/coupons/verify", json={"code": f"MISS{i:016d}"}, headers=mer), 404)
    for _ in range(2 * budget):  # far more good lookups than the budget: none is counted
        assert (
            await alliance_client.post("/v1/coupons/verify", json={"code": code_of(coupons[0])}, headers=mer)
        ).status_code == 200
    for coupon in coupons:
        assert (
            await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(coupon)}, headers=with_key(mer))
        ).status_code == 200
    # a second redeem of its own code is no guess (409 with the date), so it gives its slot back too
    error(
        await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(coupons[0])}, headers=with_key(mer)), 409
    )
    error(await alliance_client.post("/v1/coupons/verify", json={"code": "MISS-LAST-000000000"}, headers=mer), 404)
    error(await alliance_client.post("/v1/coupons/verify", json={"code": "MISS-OVER-000000000"}, headers=mer), 429)


def _application(name: str, phone: str = "13912345678") -> dict:
    return {
        "name": name,
        "category": "food",
        "contact_name": "Chen",
        "contact_phone": phone,
        "settlement_account": "6222020200112233",
        "stores": [{"name": name, "address": "8 Lake Road"}],
    }


async def test_anonymous_applicants_sharing_a_key_never_see_each_other(alliance_app, sm) -> None:
    def at(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=alliance_app, client=(address, 5000)), base_url="http://t"
        )

    key = {"Idempotency-Key": "apply-0001"}  # the kind of key two strangers both pick
    first = _application("Lakeside noodles")
    async with at("203.0.113.10") as a, at("203.0.113.20") as b:
        mine = await a.post("/v1/merchants/apply", json=first, headers=key)
        assert mine.status_code == 201, mine.text
        # the same applicant retrying from the same address replays its answer
        replay = await a.post("/v1/merchants/apply", json=first, headers=key)
        assert replay.content == mine.content and replay.headers["Idempotent-Replayed"] == "true"
        # ... and changing its application under the same key is still refused
        changed = {**first, "stores": [{"name": "Lakeside 2", "address": "9 Lake Road"}]}
        assert (
            error(await a.post("/v1/merchants/apply", json=changed, headers=key), 409)["error"]
            == "idempotency_key_reused"
        )
        # a stranger with the same key and the same contact number, from elsewhere: its own application
        theirs = await b.post("/v1/merchants/apply", json=_application("Hilltop tea"), headers=key)
        # a stranger who copies the whole application from elsewhere learns nothing about the first
        copied = await b.post("/v1/merchants/apply", json=first, headers=key)
        # a neighbour behind the same address with another application: its own too
        neighbour = await a.post("/v1/merchants/apply", json=_application("Corner bakery", "13987654321"), headers=key)
    ids = {mine.json()["merchant_id"]}
    for resp in (theirs, copied, neighbour):
        assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers, resp.text
        ids.add(resp.json()["merchant_id"])
    assert len(ids) == 4
    async with sm() as s:
        assert await s.scalar(select(func.count()).select_from(Merchant).where(Merchant.id.in_(ids))) == 4
