"""A customer never reaches another customer's data by changing ids; bad input is a clean 4xx."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from shared.engagement import hunts
from shared.models import LedgerTxn, Recommendation, Subscription
from tests.fixtures.factories import create_customer, create_product
from tests.fixtures.factories_customer import create_hunt, create_recommendation, create_usage, give_points
from tests.services.customer_app.conftest import assert_error, idem

MONTH = date(2026, 2, 1)


@pytest.fixture
async def two(sm):  # type: ignore[no-untyped-def]
    """Customer A and customer B, where B owns a subscription, a recommendation, points and a play."""
    async with sm.begin() as s:
        await s.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
        a = await create_customer(s)
        b = await create_customer(s)
        await create_usage(s, b.id, MONTH, balance_end_fen=9000, bill_fen=12345)
        product = await create_product(s)
        await give_points(s, b.id, 70)
        rec = await create_recommendation(s, b.id, product_id=product.id)
        hunt, code = await create_hunt(s, prizes=[hunts.PrizeSpec("points", 5, 10, 1_000_000)])
    from shared.business import orders

    async with sm.begin() as s:
        sub = await orders.place_order(s, customer_id=b.id, product_id=product.id, key="b-order", channel="app")
        play = await hunts.play(
            s,
            hunt_id=hunt.id,
            customer_id=b.id,
            spot_code=code,
            key="b-play",
            now=datetime.now(UTC),
            today=date.today(),
        )
    return {"a": a, "b": b, "sub": sub, "rec": rec, "hunt": hunt, "code": code, "play": play}


async def test_customer_cannot_touch_another_customers_objects(customer_client, sm, tokens, two) -> None:
    h = tokens.customer(two["a"].id)
    async with sm() as s:
        txns_before = await s.scalar(select(func.count()).select_from(LedgerTxn))
    assert_error(await customer_client.post(f"/v1/subscriptions/{two['sub'].id}/cancel", headers=idem(h)), 404)
    assert_error(await customer_client.post(f"/v1/recommendations/{two['rec'].id}/accept", headers=idem(h)), 404)
    assert_error(await customer_client.post(f"/v1/recommendations/{two['rec'].id}/dismiss", headers=idem(h)), 404)
    assert_error(await customer_client.get("/v1/account/bills/2026-02", headers=h), 404)
    assert (await customer_client.get(f"/v1/hunts/{two['hunt'].id}/plays", headers=h)).json() == []
    # ids smuggled into query strings and bodies are ignored: every query is keyed by the token
    for path in (
        "/v1/account",
        "/v1/points",
        "/v1/points/history",
        "/v1/subscriptions?status=all",
        "/v1/recommendations",
        "/v1/account/bills",
    ):
        r = await customer_client.get(f"{path}{'&' if '?' in path else '?'}customer_id={two['b'].id}", headers=h)
        assert r.status_code == 200, (path, r.text)
        assert "12345" not in r.text and str(two["sub"].id) not in [
            str(x.get("id")) for x in (r.json() if isinstance(r.json(), list) else [])
        ]
    assert (await customer_client.get("/v1/points", headers=h)).json()["balance"] == 0
    r = await customer_client.post(
        "/v1/points/redeem-airtime", headers=idem(h), json={"points": 10, "customer_id": two["b"].id}
    )
    assert_error(r, 422)  # an unknown field is refused outright, never bound or ignored
    async with sm() as s:
        assert await s.scalar(select(Subscription.status).where(Subscription.id == two["sub"].id)) == "active"
        assert await s.scalar(select(Recommendation.status).where(Recommendation.id == two["rec"].id)) == "open"
        assert await s.scalar(select(func.count()).select_from(LedgerTxn)) == txns_before


async def test_402_names_asset_balance_and_shortfall_never_account_ids(customer_client, sm, tokens, two) -> None:
    async with sm.begin() as s:
        await give_points(s, two["a"].id, 40, key=f"grant-402-{two['a'].id}")
    body = assert_error(
        await customer_client.post(
            "/v1/points/redeem-airtime", headers=idem(tokens.customer(two["a"].id)), json={"points": 100}
        ),
        402,
    )
    assert body["error"] == "insufficient_funds"
    assert body["context"] == {"asset": "points", "balance": 40, "required": 100, "shortfall": 60}
    assert "account" not in json.dumps(body)


async def test_idempotency_keys_are_scoped_per_customer(customer_client, sm, tokens, two) -> None:
    async with sm.begin() as s:
        await give_points(s, two["a"].id, 40)
    key = "shared-key-123"
    ra = await customer_client.post(
        "/v1/points/redeem-airtime", headers=idem(tokens.customer(two["a"].id), key), json={"points": 10}
    )
    rb = await customer_client.post(
        "/v1/points/redeem-airtime", headers=idem(tokens.customer(two["b"].id), key), json={"points": 10}
    )
    assert ra.status_code == rb.status_code == 200 and ra.content != rb.content
    assert "Idempotent-Replayed" not in rb.headers


async def test_no_token_or_foreign_token_is_401(customer_client, tokens, two) -> None:
    for method, path in [
        ("get", "/v1/account"),
        ("post", "/v1/checkin"),
        ("get", "/v1/points"),
        ("post", f"/v1/hunts/{two['hunt'].id}/plays"),
    ]:
        assert_error(await customer_client.request(method, path, headers={"Idempotency-Key": "abcdefgh1"}), 401)
        assert_error(await customer_client.request(method, path, headers=idem(tokens.admin(1))), 401)


BAD_REQUESTS = [
    ("post", "/v1/orders", {"product_id": "ten"}, 422),
    ("post", "/v1/orders", {"product_id": -1}, 422),
    ("post", "/v1/orders", {"product_id": 2_000_000_000}, 404),
    ("post", "/v1/orders", {}, 422),
    ("post", "/v1/orders", {"product_id": 10**30}, 422),
    ("post", "/v1/orders", {"product_id": True}, 422),
    ("post", "/v1/orders", {"product_id": "12"}, 422),
    ("post", "/v1/orders", {"product": 12}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": -5}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": 0}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": 1.5}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": "many"}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": 10**12}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": True}, 422),
    ("post", "/v1/points/redeem-airtime", {"points": "10"}, 422),
    ("post", "/v1/points/redeem-airtime", {"point": 10}, 422),
    ("post", "/v1/checkin/makeup", {"local_date": "2001-01-01", "cost": 0}, 422),
    ("post", "/v1/hunts/{hunt}/plays", {"spot_code": "UNKNOWNSPOT", "won": True}, 422),
    ("post", "/v1/subscriptions/0/cancel", None, 422),
    ("post", "/v1/subscriptions/abc/cancel", None, 422),
    ("post", "/v1/subscriptions/999999999/cancel", None, 404),
    ("post", "/v1/recommendations/999999999/accept", None, 404),
    ("post", "/v1/recommendations/-3/dismiss", None, 422),
    ("post", "/v1/checkin/makeup", {"local_date": "yesterday"}, 422),
    ("post", "/v1/checkin/makeup", {"local_date": "2001-01-01"}, 422),
    ("post", "/v1/hunts/999999/plays", {"spot_code": "ABCDEFGH"}, 404),
    ("post", "/v1/hunts/{hunt}/plays", {"spot_code": "x" * 500}, 422),
    ("post", "/v1/hunts/{hunt}/plays", {"spot_code": "no spaces allowed"}, 422),
    ("post", "/v1/hunts/{hunt}/plays", {"spot_code": "UNKNOWNSPOT"}, 404),
    ("post", "/v1/hunts/{hunt}/plays", {"spot_code": 12345678}, 422),
    ("get", "/v1/hunts/0", None, 422),
    ("get", "/v1/hunts/99999999", None, 404),
    ("get", "/v1/account/bills/2026-13", None, 422),
    ("get", "/v1/account/bills?months=-1", None, 422),
    ("get", "/v1/account/usage?month=" + "9" * 300, None, 422),
    ("get", "/v1/points/history?limit=100000", None, 422),
    ("get", "/v1/catalogue?kind=plan", None, 422),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_REQUESTS)
async def test_bad_input_is_4xx_in_error_shape(customer_client, tokens, two, method, path, body, status) -> None:
    h = idem(tokens.customer(two["a"].id))
    r = await customer_client.request(method, path.replace("{hunt}", str(two["hunt"].id)), headers=h, json=body)
    assert_error(r, status)


async def test_bad_idempotency_keys(customer_client, tokens, two) -> None:
    h = tokens.customer(two["a"].id)
    for key in ("short", "k" * 101, "has space!"):
        assert_error(await customer_client.post("/v1/checkin", headers={**h, "Idempotency-Key": key}), 422)
    assert_error(await customer_client.post("/v1/checkin", headers=h), 422)


async def test_expired_and_future_hunts(customer_client, sm, tokens, two) -> None:
    now = datetime.now(UTC)
    async with sm.begin() as s:
        ended, ended_code = await create_hunt(s, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
        future, future_code = await create_hunt(s, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=9))
    h = tokens.customer(two["a"].id)
    body = assert_error(
        await customer_client.post(f"/v1/hunts/{ended.id}/plays", headers=idem(h), json={"spot_code": ended_code}), 410
    )
    assert body["error"] == "gone"
    assert_error(
        await customer_client.post(f"/v1/hunts/{future.id}/plays", headers=idem(h), json={"spot_code": future_code}),
        409,
    )
    live = {x["id"] for x in (await customer_client.get("/v1/hunts", headers=h)).json()}
    assert live and not live & {ended.id, future.id}
    # a spot code of another hunt does not work here
    assert_error(
        await customer_client.post(
            f"/v1/hunts/{two['hunt'].id}/plays", headers=idem(h), json={"spot_code": ended_code}
        ),
        404,
    )


async def test_daily_play_limit_is_429(customer_client, sm, tokens, two) -> None:
    h = tokens.customer(two["a"].id)
    for _ in range(3):
        r = await customer_client.post(
            f"/v1/hunts/{two['hunt'].id}/plays", headers=idem(h), json={"spot_code": two["code"]}
        )
        assert r.status_code == 200, r.text
    assert_error(
        await customer_client.post(
            f"/v1/hunts/{two['hunt'].id}/plays", headers=idem(h), json={"spot_code": two["code"]}
        ),
        429,
    )
