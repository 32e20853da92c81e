"""Account queries, business handling, offers and ads over HTTP, for the signed-in customer."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select, text

from shared.business import account as account_service
from shared.ledger.airtime import airtime_account, airtime_balance_fen
from shared.models import Subscription, TierRule, Touch
from shared.points import service as points_service
from tests.fixtures.factories import create_branch, create_customer, create_product, create_staff
from tests.fixtures.factories_customer import create_ad, create_recommendation, create_usage, give_points
from tests.services.customer_app.conftest import assert_error, idem

MONTH = date(2026, 2, 1)


async def _customer(s, **kw):  # type: ignore[no-untyped-def]
    await s.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
    plan = await create_product(s, kind="plan", name="58 yuan plan", monthly_fee_fen=5800, data_mb=10240, voice_min=500)
    c = await create_customer(s, plan_id=plan.id, **kw)
    await create_usage(s, c.id, MONTH, balance_end_fen=8000)
    return c


async def test_account_summary_is_masked_and_complete(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s, phone="13912345678", name="王小明")
    r = await customer_client.get("/v1/account", headers=tokens.customer(c.id))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["phone"] == "139****5678" and body["name"] == "王**"
    assert body["balance_fen"] == 8000 and body["plan"]["name"] == "58 yuan plan" and body["points"] == 0
    assert "13912345678" not in r.text and "id_number" not in body


async def test_account_summary_agrees_with_the_per_part_queries(customer_client, sm, tokens) -> None:
    """The one-statement summary returns what the eight separate account and points queries do."""
    tier = f"t{secrets.token_hex(4)}"
    async with sm.begin() as s:
        s.add(TierRule(tier=tier, rank=99, benefits=["free data 1GB", {"lounge": 2}]))
        c = await _customer(s, tier=tier)
        pack = await create_product(s, kind="data_pack", name="pack A")
        voice = await create_product(s, kind="voice_pack", name="pack B")
        s.add_all(
            [
                Subscription(customer_id=c.id, product_id=pack.id, status="active", starts_on=MONTH, charge_fen=0),
                Subscription(
                    customer_id=c.id,
                    product_id=voice.id,
                    status="active",
                    starts_on=MONTH,
                    ends_on=date(2026, 8, 31),
                    charge_fen=0,
                ),
                Subscription(customer_id=c.id, product_id=voice.id, status="cancelled", starts_on=MONTH, charge_fen=0),
            ]
        )
        for earned_on, amount in ((date(2025, 3, 1), 40), (date(2025, 9, 1), 25), (date(2026, 1, 5), 100)):
            await give_points(s, c.id, amount, earned_on=earned_on)
        await points_service.spend(s, customer_id=c.id, amount=50, key=f"t-spend:{c.id}", kind="test")
        await airtime_account(s, c.id)  # opened with the latest month's closing balance
    body = (await customer_client.get("/v1/account", headers=tokens.customer(c.id))).json()
    async with sm() as s:
        buckets = [b for b in await points_service.expiring(s, c.id) if b["expires_on"] is not None]
        expected_addons = [
            {k: a[k] for k in ("id", "product_name", "kind", "starts_on", "ends_on")}
            for a in await account_service.subscriptions(s, c.id)
        ]
        expected = {
            "tier_benefits": await s.scalar(select(TierRule.benefits).where(TierRule.tier == tier)),
            "points": await points_service.balance(s, c.id),
            "balance_fen": await airtime_balance_fen(s, c.id),
            "points_expiring_next": {
                "expires_on": buckets[0]["expires_on"].isoformat(),
                "points": buckets[0]["points"],
            },
            "addons": [
                {**a, "starts_on": a["starts_on"].isoformat(), "ends_on": a["ends_on"] and a["ends_on"].isoformat()}
                for a in expected_addons
            ],
        }
    assert expected["points"] == 115 and len(buckets) >= 2 and len(expected["addons"]) == 2
    assert {k: body[k] for k in expected} == expected
    assert body["tier"] == tier and body["status"] == "active"


async def test_rendered_account_queries_are_their_response_models(customer_client, sm, tokens) -> None:
    """GET /v1/account, /v1/points and /v1/checkin write their JSON straight from the dict
    (shared.web.render, no response-model pass): the body must be exactly what the documented model
    would serialise — no field more (nothing filters the dict), none missing, same value shapes."""
    from customer_app.routers.account import AccountOut
    from customer_app.routers.checkin import StatusOut
    from customer_app.routers.points import PointsOut

    async with sm.begin() as s:
        c = await _customer(s)
        pack = await create_product(s, kind="data_pack", name="pack A")
        s.add(Subscription(customer_id=c.id, product_id=pack.id, status="active", starts_on=MONTH, charge_fen=0))
        await give_points(s, c.id, 30, earned_on=date(2026, 1, 5))
    h = tokens.customer(c.id)
    assert (await customer_client.post("/v1/checkin", headers=idem(h))).status_code == 200
    for path, model in (("/v1/account", AccountOut), ("/v1/points", PointsOut), ("/v1/checkin", StatusOut)):
        r = await customer_client.get(path, headers=h)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", (path, r.text)
        body = r.json()
        assert body == model.model_validate(body).model_dump(mode="json"), path
    assert body["checked_in_today"] is True and body["month"]


async def test_account_summary_of_a_customer_with_nothing(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s, plan_id=None)
    body = (await customer_client.get("/v1/account", headers=tokens.customer(c.id))).json()
    assert {
        k: body[k] for k in ("plan", "addons", "balance_fen", "points", "points_expiring_next", "tier_benefits")
    } == {"plan": None, "addons": [], "balance_fen": 0, "points": 0, "points_expiring_next": None, "tier_benefits": []}


async def test_usage_and_bills(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
    h = tokens.customer(c.id)
    usage = (await customer_client.get("/v1/account/usage?month=2026-02", headers=h)).json()
    assert usage["data"] == {"used_mb": 8000, "allowance_mb": 10240, "remaining_mb": 2240}
    bills = (await customer_client.get("/v1/account/bills", headers=h)).json()
    assert bills[0]["total_fen"] == 7300 and {x["item"] for x in bills[0]["lines"]} >= {"plan_fee", "addon_fee"}
    assert (await customer_client.get("/v1/account/bills/2026-02", headers=h)).status_code == 200
    assert_error(await customer_client.get("/v1/account/bills/2026-03", headers=h), 404)


async def test_my_manager_and_contacts(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
        branch = await create_branch(s)
        m = await create_staff(s, org_unit_id=branch.id, full_name="李经理", work_phone="057188881234")
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id) VALUES (:c, :m)"), {"c": c.id, "m": m.id}
        )
        s.add(Touch(customer_id=c.id, channel="manager_call", outcome="reached", staff_id=m.id))
        s.add(Touch(customer_id=c.id, channel="outbound_call", outcome="no_answer", visible_to_customer=False))
    h = tokens.customer(c.id)
    mine = (await customer_client.get("/v1/account/manager", headers=h)).json()
    assert mine == {"assigned": True, "name": "李经理", "work_phone": "057188881234", "branch": branch.name}
    contacts = (await customer_client.get("/v1/account/contacts", headers=h)).json()
    assert [x["channel"] for x in contacts] == ["manager_call"]


async def test_order_and_cancel_flow(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s, tier="star2")
        pack = await create_product(s, kind="data_pack", monthly_fee_fen=2000, duration_months=1)
        vip = await create_product(s, kind="membership", eligibility={"min_tier": "gold"})
    h = tokens.customer(c.id)
    ids = {x["id"] for x in (await customer_client.get("/v1/catalogue", headers=h)).json()}
    assert pack.id in ids and vip.id not in ids
    r = await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": pack.id})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert (await customer_client.get("/v1/account", headers=h)).json()["balance_fen"] == 6000
    refused = assert_error(await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": vip.id}), 409)
    assert refused["error"] == "not_eligible" and refused["context"]["reasons"] == ["tier_too_low"]
    r = await customer_client.post(f"/v1/subscriptions/{sub['id']}/cancel", headers=idem(h))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    listed = (await customer_client.get("/v1/subscriptions?status=all", headers=h)).json()
    assert [x["id"] for x in listed] == [sub["id"]]


async def test_order_short_of_balance_is_402(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
        pricey = await create_product(s, kind="voice_pack", monthly_fee_fen=9_000_00)
    body = assert_error(
        await customer_client.post("/v1/orders", headers=idem(tokens.customer(c.id)), json={"product_id": pricey.id}),
        402,
    )
    assert body["error"] == "insufficient_funds"


async def test_recommendation_answers_are_touches(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
        p = await create_product(s)
        rec = await create_recommendation(s, c.id, product_id=p.id)
        other = await create_recommendation(s, c.id, reason="second", purpose="retention")
    h = tokens.customer(c.id)
    listed = (await customer_client.get("/v1/recommendations", headers=h)).json()
    assert {x["id"] for x in listed} == {rec.id, other.id} and "script" not in listed[0]
    r = await customer_client.post(f"/v1/recommendations/{rec.id}/accept", headers=idem(h))
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["result"] == "ordered"
    again = await customer_client.post(f"/v1/recommendations/{rec.id}/accept", headers=idem(h))
    assert again.status_code == 200 and again.json()["order"] == r.json()["order"]  # the same order, not a second
    assert_error(await customer_client.post(f"/v1/recommendations/{rec.id}/dismiss", headers=idem(h)), 409)
    async with sm() as s:
        touches = (await s.scalars(select(Touch).where(Touch.recommendation_id == rec.id))).all()
    assert [(t.channel, t.outcome) for t in touches] == [("app", "ordered")]


async def test_ads_are_targeted(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s, tier="gold")
        everyone = await create_ad(s, title="For all")
        gold = await create_ad(s, title="Gold only", target_tiers=["gold"])
        star1 = await create_ad(s, title="Star1 only", target_tiers=["star1"])
        withdrawn = await create_ad(s, title="Old", status="withdrawn")
    ids = {a["id"] for a in (await customer_client.get("/v1/ads", headers=tokens.customer(c.id))).json()}
    assert {everyone.id, gold.id} <= ids and not ids & {star1.id, withdrawn.id}


async def test_checkin_status_and_points_views(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
    h = tokens.customer(c.id)
    before = (await customer_client.get("/v1/checkin", headers=h)).json()
    assert before["checked_in_today"] is False and before["next_reward"] == 5
    done = await customer_client.post("/v1/checkin", headers=idem(h))
    assert done.status_code == 200 and done.json()["points"] == 5
    after = (await customer_client.get("/v1/checkin", headers=h)).json()
    assert after["checked_in_today"] and after["streak"] == 1
    pts = (await customer_client.get("/v1/points", headers=h)).json()
    assert pts["balance"] == 5 and pts["next_expiry"]["points"] == 5
    hist = (await customer_client.get("/v1/points/history", headers=h)).json()
    assert [(e["amount"], e["kind"]) for e in hist] == [(5, "checkin")]
