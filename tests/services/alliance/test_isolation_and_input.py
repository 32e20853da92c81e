"""Object-level authorization (a second merchant gets 404 and changes nothing), audience
separation, bad input in the shared error shape, uniform code refusals and the brute-force limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from shared.alliance.coupons import code_of
from shared.models import Coupon, Offer, Redemption
from tests.fixtures.factories import create_customer, create_merchant, create_staff
from tests.fixtures.factories_alliance import create_coupon, create_offer
from tests.services.alliance.helpers import error, offer_body, with_key

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
async def two_merchants(sm, alliance_client, admin_client, tokens):
    """Merchant A with an offer, a redeemed coupon, a live coupon and a statement; merchant B idle."""
    async with sm.begin() as s:
        a = await create_merchant(s)
        b = await create_merchant(s)
        admin = await create_staff(s, role="admin")
        offer = await create_offer(s, merchant_id=a.id, stock=10, per_customer_limit=5)
        c = await create_customer(s)
        used = await create_coupon(s, offer_id=offer.id, customer_id=c.id)
        live = await create_coupon(s, offer_id=offer.id, customer_id=c.id)
    ta, tb = tokens.merchant(a.id), tokens.merchant(b.id)
    r = await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(used)}, headers=with_key(ta))
    assert r.status_code == 200, r.text
    gen = await admin_client.post(
        "/v1/alliance/statements/generate",
        json={"period_start": TODAY, "period_end": TODAY, "merchant_id": a.id},
        headers=with_key(tokens.admin(admin.id)),
    )
    assert gen.status_code == 200, gen.text
    return {
        "a": a,
        "b": b,
        "ta": ta,
        "tb": tb,
        "offer": offer,
        "used": used,
        "live": live,
        "redemption_id": r.json()["redemption_id"],
        "statement_id": gen.json()[0]["id"],
        "customer": c,
    }


async def test_second_merchant_cannot_touch_the_first_ones_objects(alliance_client, sm, two_merchants) -> None:
    w, tb = two_merchants, two_merchants["tb"]
    oid, rid, sid = w["offer"].id, w["redemption_id"], w["statement_id"]
    attempts = [
        ("GET", f"/v1/offers/{oid}", None),
        ("POST", f"/v1/offers/{oid}/stock", {"delta": -5}),
        ("POST", f"/v1/offers/{oid}/withdraw", None),
        ("GET", f"/v1/redemptions/{rid}", None),
        ("POST", f"/v1/redemptions/{rid}/reverse", None),
        ("GET", f"/v1/statements/{sid}", None),
        ("POST", "/v1/coupons/verify", {"code": code_of(w["live"])}),
        ("POST", "/v1/coupons/redeem", {"code": code_of(w["live"])}),
        ("POST", "/v1/coupons/redeem", {"code": code_of(w["used"])}),
    ]
    for method, path, body in attempts:
        resp = await alliance_client.request(method, path, json=body, headers=with_key(tb))
        error(resp, 404)
    for path in ("/v1/offers", "/v1/redemptions", "/v1/statements", "/v1/gifts"):
        assert (await alliance_client.get(path, headers=tb)).json() == [], path
    async with sm() as s:
        offer = await s.get(Offer, oid)
        assert (offer.status, offer.stock_left) == ("approved", 8)
        assert (await s.get(Coupon, w["live"].id)).status == "issued"
        assert (await s.get(Redemption, rid)).reversed_at is None
        assert (
            await s.scalar(select(func.count()).select_from(Redemption).where(Redemption.merchant_id == w["b"].id)) == 0
        )


async def test_other_audiences_are_refused_by_the_merchant_api(alliance_client, tokens, sm, two_merchants) -> None:
    async with sm.begin() as s:
        mgr = await create_staff(s, role="account_manager")
        adm = await create_staff(s, role="admin")
    foreign = [tokens.customer(two_merchants["customer"].id), tokens.manager(mgr.id), tokens.admin(adm.id)]
    for headers in foreign:
        for method, path, body in [
            ("GET", "/v1/offers", None),
            ("POST", "/v1/offers", offer_body()),
            ("POST", "/v1/coupons/verify", {"code": code_of(two_merchants["live"])}),
            ("POST", "/v1/coupons/redeem", {"code": code_of(two_merchants["live"])}),
            ("GET", "/v1/statements", None),
            ("PUT", "/v1/webhook", {"url": "https://a.example.com/h"}),
        ]:
            error(await alliance_client.request(method, path, json=body, headers=with_key(headers)), 401)
    async with sm() as s:
        assert (await s.get(Coupon, two_merchants["live"].id)).status == "issued"


async def test_code_refusals_are_byte_identical(alliance_client, sm, two_merchants) -> None:
    w = two_merchants
    async with sm.begin() as s:
        offer = await create_offer(s, merchant_id=w["a"].id, per_customer_limit=5)
        expired = await create_coupon(s, offer_id=offer.id, customer_id=w["customer"].id)
        await s.execute(
            update(Coupon).where(Coupon.id == expired.id).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        foreign_offer = await create_offer(s, merchant_id=w["b"].id)
        foreign = await create_coupon(s, offer_id=foreign_offer.id, customer_id=w["customer"].id)
    cases = {
        "unknown": "ZZZZZZZZZZZZZZZZZZZZ",
        "expired": code_of(expired),
        "foreign": code_of(foreign),
        "used": code_of(w["used"]),
    }
    verify_bodies = {}
    for name, code in cases.items():
        resp = await alliance_client.post("/v1/coupons/verify", json={"code": code}, headers=w["ta"])
        assert resp.status_code == 404, (name, resp.text)
        verify_bodies[name] = resp.content
    assert len(set(verify_bodies.values())) == 1, verify_bodies
    redeem_bodies = {}
    for name in ("unknown", "expired", "foreign"):
        resp = await alliance_client.post("/v1/coupons/redeem", json={"code": cases[name]}, headers=with_key(w["ta"]))
        redeem_bodies[name] = resp.content
    assert set(redeem_bodies.values()) == set(verify_bodies.values())
    body = error(
        await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(w["used"])}, headers=with_key(w["ta"])),
        409,
    )
    assert body["error"] == "already_redeemed"


async def test_brute_force_is_limited_per_merchant(alliance_client, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        other = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        good = await create_coupon(s, offer_id=offer.id, customer_id=(await create_customer(s)).id)
    mer = tokens.merchant(m.id)
    statuses = [
        (await alliance_client.post("/v1/coupons/verify", json={"code": f"GUESS{i:015d}"}, headers=mer)).status_code
        for i in range(12)
    ]
    assert statuses == [404] * 10 + [429] * 2
    blocked = error(
        await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(good)}, headers=with_key(mer)), 429
    )
    assert blocked["error"] == "too_many_requests"
    # the budget is per merchant: another merchant's till is unaffected
    error(
        await alliance_client.post(
            "/v1/coupons/verify", json={"code": "GUESS000000000000000"}, headers=tokens.merchant(other.id)
        ),
        404,
    )


async def test_bad_input_gets_clear_4xx(alliance_client, customer_client, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        c = await create_customer(s)
    mer, cust = tokens.merchant(m.id), tokens.customer(c.id)
    bad_offers = [
        offer_body(price_points=-1),
        offer_body(price_airtime_fen=-100),
        offer_body(stock_total=-5),
        offer_body(stock_total=0),
        offer_body(per_customer_limit=0),
        offer_body(kind="bitcoin"),
        offer_body(valid_to="2020-01-01T00:00:00+00:00"),
        offer_body(target_tiers=["platinum"]),
        offer_body(valid_from="2026-01-01T00:00:00"),
        {**offer_body(), "status": "approved"},
    ]
    for body in bad_offers:
        error(await alliance_client.post("/v1/offers", json=body, headers=with_key(mer)), 422)
    pub = await alliance_client.post("/v1/offers", json=offer_body(stock_total=3), headers=with_key(mer))
    oid = pub.json()["id"]
    below = error(
        await alliance_client.post(
            f"/v1/offers/{oid}/stock", json={"delta": -4}, headers={**with_key(mer), "Accept-Language": "en"}
        ),
        409,
    )
    assert "below zero" in below["detail"]
    assert (await alliance_client.post(f"/v1/offers/{oid}/stock", json={"delta": -3}, headers=with_key(mer))).json()[
        "stock_left"
    ] == 0
    for url in (
        "http://shop.example.com/hook",
        "ftp://x.example.com",
        "https://10.1.2.3/h",
        "not-a-url-at-all",
        "https://intranet/x",
    ):
        error(await alliance_client.put("/v1/webhook", json={"url": url}, headers=with_key(mer)), 422)
    error(await alliance_client.post("/v1/coupons/redeem", json={"code": "<script>"}, headers=with_key(mer)), 422)
    error(await alliance_client.post("/v1/coupons/redeem", json={"code": "ABCDEFGHJKLMNPQRSTUV"}), 401)
    error(
        await alliance_client.post("/v1/coupons/redeem", json={"code": "ABCDEFGHJKLMNPQRSTUV"}, headers=mer), 422
    )  # no key
    error(
        await alliance_client.post(
            "/v1/merchants/apply", json={"name": "x"}, headers={"Idempotency-Key": "apply-bad-1"}
        ),
        422,
    )
    error(await customer_client.post("/v1/coupons/offers/999999/exchange", json={}, headers=with_key(cust)), 404)
    error(
        await customer_client.post(
            f"/v1/coupons/offers/{oid}/exchange", json={"pay_with": "gold"}, headers=with_key(cust)
        ),
        422,
    )
    error(await customer_client.get("/v1/coupons/999999", headers=cust), 404)
    error(await customer_client.get("/v1/coupons?limit=100000", headers=cust), 422)


async def test_customer_sees_only_own_coupons(customer_client, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        a, b = await create_customer(s), await create_customer(s)
        mine = await create_coupon(s, offer_id=offer.id, customer_id=a.id)
    error(await customer_client.get(f"/v1/coupons/{mine.id}", headers=tokens.customer(b.id)), 404)
    assert (await customer_client.get("/v1/coupons", headers=tokens.customer(b.id))).json() == []
    assert [c["id"] for c in (await customer_client.get("/v1/coupons", headers=tokens.customer(a.id))).json()] == [
        mine.id
    ]


async def test_reversal_window_is_enforced(alliance_client, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        coupon = await create_coupon(s, offer_id=offer.id, customer_id=(await create_customer(s)).id)
    mer = tokens.merchant(m.id)
    rid = (
        await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(coupon)}, headers=with_key(mer))
    ).json()["redemption_id"]
    async with sm.begin() as s:
        await s.execute(
            update(Redemption).where(Redemption.id == rid).values(created_at=datetime.now(UTC) - timedelta(hours=2))
        )
    body = error(
        await alliance_client.post(
            f"/v1/redemptions/{rid}/reverse", headers={**with_key(mer), "Accept-Language": "en"}
        ),
        409,
    )
    assert "window" in body["detail"]


OFFER_REFUSALS = [
    ({"price_points": 0, "price_airtime_fen": 0}, "offer_free"),
    ({"face_value_fen": 1, "settlement_fen": 10_000_000}, "settlement_above_face_value"),
    ({"face_value_fen": 10_000_000, "settlement_fen": 100}, "offer_value_too_high"),
    ({"price_points": 5_000_000}, "offer_value_too_high"),
    ({"price_airtime_fen": 5_000_000}, "offer_value_too_high"),
    ({"face_value_fen": 500_000, "settlement_fen": 500_000, "stock_total": 1000}, "offer_exposure_too_high"),
]


@pytest.mark.parametrize(("change", "code"), OFFER_REFUSALS)
async def test_offer_sanity_rules_refuse_with_their_own_code(alliance_client, sm, tokens, change, code) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
    body = error(
        await alliance_client.post("/v1/offers", json=offer_body(**change), headers=with_key(tokens.merchant(m.id))),
        422,
    )
    assert body["error"] == code, body
    async with sm() as s:
        assert await s.scalar(select(func.count()).select_from(Offer).where(Offer.merchant_id == m.id)) == 0


async def test_restocking_cannot_pass_the_exposure_cap(alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
    mer = tokens.merchant(m.id)
    oid = (
        await alliance_client.post(
            "/v1/offers",
            json=offer_body(face_value_fen=100_000, settlement_fen=100_000, stock_total=10),
            headers=with_key(mer),
        )
    ).json()["id"]
    body = error(
        await alliance_client.post(f"/v1/offers/{oid}/stock", json={"delta": 1000}, headers=with_key(mer)), 422
    )
    assert body["error"] == "offer_exposure_too_high"
    assert (
        await alliance_client.post(f"/v1/offers/{oid}/stock", json={"delta": 990}, headers=with_key(mer))
    ).status_code == 200
