"""Issue 14 items 7 and 6: one open offer per customer and purpose, the same on every channel
(customer app, campaign SMS, manager portrait and task), held by the database under a concurrent
burst, and a preferred channel over the contact cap falls back instead of skipping the customer."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from shared import clock
from shared.engine import strategies
from shared.models import Strategy
from shared.notify.outbound import default_gateway
from shared.touches.service import OUTBOUND_CHANNELS, record_touch
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_org, create_product, create_staff
from tests.fixtures.factories_customer import create_recommendation
from tests.services.customer_app.conftest import idem
from tests.shared.engine.conftest import City, run


async def _world(sm):  # type: ignore[no-untyped-def]
    """A branch with one assigned customer who holds a nightly retention offer (a data pack by SMS)."""
    async with sm.begin() as s:
        _, _, branch = await create_org(s)
        admin = await create_staff(s, role="admin", org_unit_id=None)
        manager = await create_staff(s, role="account_manager", org_unit_id=branch.id)
        c = await create_customer(s, branch_id=branch.id)
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id, reason) VALUES (:c, :m, 'engine')"),
            {"c": c.id, "m": manager.id},
        )
        for kind in ("broadband", "recharge_bonus", "contract"):
            await create_product(s, kind=kind, monthly_fee_fen=1)
        data_pack = await create_product(s, kind="data_pack", monthly_fee_fen=2000)
        await strategies.seed_defaults(s)  # the nightly run seeds only an empty table: not ours alone
        strategy = Strategy(
            name="高危客户:流量包",
            condition={"risk": ["high"]},  # a retention strategy (shared.engine.offers.purpose_of)
            product_id=data_pack.id,
            channel="sms",
            script="流量包半价,回复 1 立即办理",
            priority=100,
            active=False,  # only this test's plants use it; the nightly run elsewhere must not pick it
        )
        s.add(strategy)
        await s.flush()
        nightly = await create_recommendation(
            s,
            c.id,
            strategy_id=strategy.id,
            product_id=data_pack.id,
            channel="sms",
            script=strategy.script,
            purpose="retention",
            origin="strategy",
        )
    return {
        "branch": branch.id,
        "admin": admin.id,
        "manager": manager.id,
        "customer": c.id,
        "strategy": strategy.id,
        "data_pack": data_pack.id,
        "nightly": nightly.id,
    }


def _event(customer_id: int, kind: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"source": "hotline", "external_id": uuid.uuid4().hex, "customer_id": customer_id, "kind": kind, **extra}


def _campaign(w: dict, *, flow: str, channel: str) -> dict:
    today = clock.today()
    return {
        "name": f"offer test {flow}",
        "query": {"branch_ids": [w["branch"]]},
        "strategy_id": w["strategy"],
        "flow": flow,
        "channel": channel,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "holdout_pct": 0,
    }


async def _open_offers(sm, customer_id: int) -> list:  # type: ignore[no-untyped-def]
    """The customer's open retention offers (a nightly run elsewhere may add a cross-sell one)."""
    async with sm() as s:
        return (
            await s.execute(
                text(
                    "SELECT id, purpose, origin, product_id, channel, script FROM recommendations "
                    "WHERE customer_id = :c AND status = 'open' AND purpose = 'retention' ORDER BY id"
                ),
                {"c": customer_id},
            )
        ).all()


async def test_competing_offers_end_as_one_and_every_channel_shows_it(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    w = await _world(sm)
    cid, admin_h = w["customer"], tokens.admin(w["admin"])
    # a key moment (hotline: network trouble → broadband) competes with the nightly data-pack SMS offer
    r = await clients["admin_client"].post(
        "/v1/events", json=_event(cid, "hotline_call", reason="network"), headers=admin_h
    )
    assert r.status_code == 201, r.text
    key_moment = r.json()["result"]["recommendation_id"]
    # and an SMS campaign for the data pack reaches the same customer afterwards
    r = await clients["admin_client"].post(
        "/v1/campaigns", json=_campaign(w, flow="outbound", channel="sms"), headers=admin_h
    )
    assert r.status_code == 201, r.text
    campaign = r.json()["id"]
    launched = await clients["admin_client"].post(f"/v1/campaigns/{campaign}/launch", headers=idem(admin_h))
    assert launched.status_code == 200, launched.text
    assert launched.json()["queued"] == 1
    sent = await clients["admin_client"].post(f"/v1/campaigns/{campaign}/dispatch", headers=idem(admin_h))
    assert sent.status_code == 200 and sent.json()["sent"] == 1, sent.text

    offers = await _open_offers(sm, cid)
    assert [(o.id, o.purpose, o.origin) for o in offers] == [(key_moment, "retention", "key_moment")]
    product, script = offers[0].product_id, offers[0].script
    async with sm() as s:
        # superseded (or expired by a nightly run elsewhere meanwhile: its strategy is inactive)
        assert await s.scalar(text("SELECT status FROM recommendations WHERE id = :r"), {"r": w["nightly"]}) in {
            "superseded",
            "expired",
        }
        touch = (
            await s.execute(
                text("SELECT id, product_id, recommendation_id FROM touches WHERE campaign_id = :c"), {"c": campaign}
            )
        ).one()
    # the SMS is about the one offer: its product, its recommendation, its script
    assert (touch.product_id, touch.recommendation_id) == (product, key_moment)
    sms = [m for m in default_gateway().outbox if m.touch_id == touch.id]  # type: ignore[attr-defined]
    assert len(sms) == 1 and script in sms[0].text
    # the customer app shows the same one
    listed = (await clients["customer_client"].get("/v1/recommendations", headers=tokens.customer(cid))).json()
    assert [(x["id"], x["product_id"]) for x in listed if x["purpose"] == "retention"] == [(key_moment, product)]
    # and so does the manager app: the portrait's offers and the key moment's care task
    portrait = await clients["manager_client"].get(
        f"/v1/customers/{cid}", headers=tokens.manager(w["manager"], org_unit_id=w["branch"])
    )
    assert portrait.status_code == 200, portrait.text
    body = portrait.json()
    assert [(x["id"], x["product"]["id"]) for x in body["recommendations"] if x["purpose"] == "retention"] == [
        (key_moment, product)
    ]
    tasks = [t for t in body["open_tasks"] if t["kind"] == "key_moment"]
    assert tasks and {t["product_id"] for t in tasks} == {product}


async def test_the_rule_holds_under_a_concurrent_burst(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    """Two campaign launches and two key moments at once for one customer who already holds a
    nightly offer: every request succeeds and one retention offer is left open — a key moment's."""
    w = await _world(sm)
    cid, admin_h = w["customer"], tokens.admin(w["admin"])
    campaigns = []
    for flow, channel in (("outbound", "sms"), ("app", "app")):
        r = await clients["admin_client"].post(
            "/v1/campaigns", json=_campaign(w, flow=flow, channel=channel), headers=admin_h
        )
        assert r.status_code == 201, r.text
        campaigns.append(r.json()["id"])

    async def make(i: int):  # type: ignore[no-untyped-def]
        if i < 2:
            return await clients["admin_client"].post(f"/v1/campaigns/{campaigns[i]}/launch", headers=idem(admin_h))
        kind = ("usage_collapse", "contract_ending")[i - 2]
        return await clients["admin_client"].post("/v1/events", json=_event(cid, kind), headers=admin_h)

    results = await gather_concurrently(4, make)
    assert [getattr(r, "status_code", r) for r in results] == [200, 200, 201, 201], [
        getattr(r, "text", r) for r in results
    ]
    offers = await _open_offers(sm, cid)
    assert len(offers) == 1 and (offers[0].purpose, offers[0].origin) == ("retention", "key_moment")
    event_recs = {r.json()["result"]["recommendation_id"] for r in results[2:]}
    assert offers[0].id in event_recs
    async with sm() as s:
        # every recommendation the burst wrote for this customer but the open one was replaced, none lost silently
        statuses = (
            await s.execute(
                text("SELECT status, count(*) FROM recommendations WHERE customer_id = :c GROUP BY status"),
                {"c": cid},
            )
        ).all()
        assert dict(statuses)["open"] == 1
        # the campaign's SMS (if any went out) is about the open offer or the one it replaced, never a second open one
        dup = await s.scalar(
            text(
                "SELECT count(*) FROM (SELECT customer_id, purpose FROM recommendations WHERE status = 'open' "
                "AND customer_id = :c GROUP BY 1, 2 HAVING count(*) > 1) x"
            ),
            {"c": cid},
        )
        assert dup == 0


async def test_a_second_open_offer_of_the_same_purpose_is_refused_by_the_database(sm) -> None:  # type: ignore[no-untyped-def]
    w = await _world(sm)
    async with sm() as s:
        failed = False
        try:
            async with s.begin():
                await s.execute(
                    text(
                        "INSERT INTO recommendations (customer_id, channel, score, status, purpose, origin) "
                        "VALUES (:c, 'app', 1, 'open', 'retention', 'campaign')"
                    ),
                    {"c": w["customer"]},
                )
        except Exception as exc:  # noqa: BLE001  the unique violation, whatever the driver wraps it in
            failed = "uq_recommendations_open_purpose" in str(exc)
        assert failed


class TestChannelFallBack:
    async def test_a_preferred_channel_over_the_cap_falls_back_to_the_app(
        self, engine, sm, city: City, clients, tokens
    ) -> None:  # type: ignore[no-untyped-def]
        async with sm() as s:
            picked = (
                (
                    await s.execute(
                        text(
                            "SELECT r.customer_id FROM recommendations r "
                            "JOIN customer_profiles p ON p.customer_id = r.customer_id "
                            "JOIN customers c ON c.id = r.customer_id "
                            "WHERE r.customer_id > :lo AND r.customer_id <= :hi AND r.status = 'open' "
                            "AND r.strategy_id IS NOT NULL AND r.campaign_id IS NULL AND NOT c.do_not_disturb "
                            "AND p.preferred_channel = ANY(:out) AND r.channel = p.preferred_channel "
                            "ORDER BY r.customer_id LIMIT 5"
                        ),
                        {"lo": city.lo, "hi": city.hi, "out": sorted(OUTBOUND_CHANNELS)},
                    )
                )
                .scalars()
                .all()
            )
        assert picked, "the planted city has customers whose offer goes out on an outbound preferred channel"
        async with sm.begin() as s:
            for customer_id in picked:
                for _ in range(4):  # the default monthly cap
                    await record_touch(s, customer_id=customer_id, channel="sms", outcome="reached")
        await run(engine, city)
        async with sm() as s:
            rows = (
                await s.execute(
                    text(
                        "SELECT customer_id, channel FROM recommendations WHERE customer_id = ANY(:ids) "
                        "AND status = 'open' AND strategy_id IS NOT NULL AND campaign_id IS NULL ORDER BY customer_id"
                    ),
                    {"ids": list(picked)},
                )
            ).all()
        # still offered, on a channel that is not outbound (the in-app recommendation at last)
        assert [r.customer_id for r in rows] == list(picked)
        assert all(r.channel not in OUTBOUND_CHANNELS for r in rows)
        listed = (
            await clients["customer_client"].get("/v1/recommendations", headers=tokens.customer(picked[0]))
        ).json()
        assert listed, "the customer app shows the offer"


async def test_an_sms_campaign_member_over_the_cap_is_offered_in_the_app(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    """Channel fall-back for campaigns: the capped member gets no SMS but the campaign's offer in the app."""
    w = await _world(sm)
    cid, admin_h = w["customer"], tokens.admin(w["admin"])
    async with sm.begin() as s:
        await s.execute(text("UPDATE recommendations SET status = 'expired' WHERE id = :r"), {"r": w["nightly"]})
        for _ in range(4):  # the default monthly cap
            await record_touch(s, customer_id=cid, channel="sms", outcome="reached")
    r = await clients["admin_client"].post(
        "/v1/campaigns", json=_campaign(w, flow="outbound", channel="sms"), headers=admin_h
    )
    launched = await clients["admin_client"].post(f"/v1/campaigns/{r.json()['id']}/launch", headers=idem(admin_h))
    assert launched.status_code == 200, launched.text
    assert (launched.json()["queued"], launched.json()["suppressed"], launched.json()["recommendations"]) == (0, 1, 1)
    offers = await _open_offers(sm, cid)
    assert [(o.origin, o.channel, o.product_id) for o in offers] == [("campaign", "app", w["data_pack"])]
    listed = (await clients["customer_client"].get("/v1/recommendations", headers=tokens.customer(cid))).json()
    assert [x["product_id"] for x in listed if x["purpose"] == "retention"] == [w["data_pack"]]
