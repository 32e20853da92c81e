"""The retention loop over HTTP: a sale by a manager or at the hall is a successful touch, an
in-app order is credited to the SMS that offered it, accepting an offer orders it (or refuses
with reasons, or hands it to the manager), and SMS replies act once per gateway message."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from shared import clock
from shared.campaigns import service as campaign_service
from shared.campaigns.query import AudienceQuery
from shared.ledger import service as ledger
from shared.models import CareTask, Customer, SmsReply, Subscription, Touch
from shared.notify import signing
from tests.fixtures import factories_manager as fm
from tests.fixtures.factories import create_customer, create_product, create_staff
from tests.fixtures.factories_backoffice import create_strategy
from tests.fixtures.factories_customer import create_recommendation
from tests.services.customer_app.conftest import assert_error, idem


async def _campaign(s, *, branch_id: int, product_id: int, flow: str, channel: str, holdout_pct: int = 0) -> int:
    sid = await create_strategy(s, product_id=product_id, script="流量包半价，回复 1 立即办理")
    today = clock.today()
    c = await campaign_service.create_campaign(
        s,
        name=f"{flow} test",
        query=AudienceQuery(branch_ids=[branch_id]),
        strategy_id=sid,
        channel=channel,
        flow=flow,
        starts_on=today,
        ends_on=today + timedelta(days=30),
        holdout_pct=holdout_pct,
        cost_per_touch_fen=10,
        created_by=None,
    )
    await campaign_service.launch(s, c.id)
    return c.id


async def _admin(sm, tokens) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
    return tokens.admin(admin.id)


class TestSalesAreSuccessfulTouches:
    async def test_a_managers_sale_is_accepted_and_a_successful_touch(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=2)
            cid = await _campaign(
                s, branch_id=w.branch_a, product_id=w.product.id, flow="manager_task", channel="manager_call"
            )
            task_id = await s.scalar(
                select(CareTask.id).where(CareTask.campaign_id == cid, CareTask.customer_id == w.a1[0].id)
            )
        h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "sale-task-0001"}
        body = {"outcome": "accepted_offer", "product_id": w.product.id, "consent_ref": "call-rec-0001"}
        r = await clients["manager_client"].post(f"/v1/tasks/{task_id}/complete", json=body, headers=h)
        assert r.status_code == 200, r.text
        admin = await _admin(sm, tokens)
        report = (await clients["admin_client"].get(f"/v1/reports/campaigns/{cid}", headers=admin)).json()["summary"]
        assert (report["touches"], report["accepted"], report["orders_attributed"]) == (1, 1, 1)
        assert report["touch_success_rate"] == 1.0 and report["offline_success_rate"] == 1.0

    async def test_a_hall_sale_counts_as_offline_success(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=1)
        c = w.a1[0]
        h = {**tokens.manager(w.hall.id, "hall_staff", w.branch_a), "Idempotency-Key": "hall-sale-000001"}
        body = {"phone": c.phone, "outcome": "accepted_offer", "product_id": w.product.id, "consent_ref": "hall-sig-01"}
        assert (await clients["manager_client"].post("/v1/counter/visits", json=body, headers=h)).status_code == 201
        admin = await _admin(sm, tokens)
        month = clock.today().strftime("%Y-%m")
        rows = (
            await clients["admin_client"].get(
                f"/v1/reports/touches?group_by=channel&from={month}&to={month}", headers=admin
            )
        ).json()
        hall = next(r for r in rows if r["group"] == "hall")
        assert hall["touch_success_rate"] == 1.0 and hall["offline_success_rate"] == 1.0


class TestAttribution:
    async def test_an_in_app_order_is_credited_to_the_sms_that_offered_it(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=1)
            cid = await _campaign(s, branch_id=w.branch_b, product_id=w.product.id, flow="outbound", channel="sms")
        assert (await campaign_service.dispatch_outbound(sm, campaign_id=cid))["sent"] >= 1
        buyer = w.b1[0]
        r = await clients["customer_client"].post(
            "/v1/orders", json={"product_id": w.product.id}, headers=idem(tokens.customer(buyer.id))
        )
        assert r.status_code == 201, r.text
        admin = await _admin(sm, tokens)
        report = (await clients["admin_client"].get(f"/v1/reports/campaigns/{cid}", headers=admin)).json()["summary"]
        assert report["orders_attributed"] == 1 and report["online_success_rate"] == round(1 / report["touches"], 4)
        day = clock.today().isoformat()
        orders = (
            await clients["admin_client"].get(f"/v1/reports/attribution?from={day}&to={day}", headers=admin)
        ).json()
        mine = [o for o in orders if o["subscription_id"] == r.json()["id"]]
        assert len(mine) == 1 and mine[0]["campaign_id"] == cid and mine[0]["credited_channel"] == "sms"
        assert mine[0]["order_channel"] == "app" and "last touch" in mine[0]["attribution_rule"]
        csv_text = (
            await clients["admin_client"].get(f"/v1/reports/attribution?from={day}&to={day}&format=csv", headers=admin)
        ).text
        assert csv_text.lstrip("\ufeff").startswith("subscription_id,")


class TestAcceptingARecommendation:
    async def test_accept_places_the_order_or_refuses_with_the_amounts(self, clients, customer_app, sm, tokens) -> None:
        async with sm.begin() as s:
            c = await create_customer(s)
            await fm.usage(s, c.id, clock.add_months(clock.month_start(clock.today()), -1), balance_end_fen=10)
            pricey = await create_product(s, kind="data_pack", monthly_fee_fen=10000)
            rec = await create_recommendation(s, c.id, product_id=pricey.id)
        h = tokens.customer(c.id)
        body = assert_error(
            await clients["customer_client"].post(f"/v1/recommendations/{rec.id}/accept", headers=idem(h)), 402
        )
        assert body["error"] == "insufficient_funds"
        assert (body["context"]["charge_fen"], body["context"]["balance_fen"]) == (10000, 10)
        async with sm.begin() as s:
            assert (
                await s.scalar(select(func.count()).select_from(Subscription).where(Subscription.customer_id == c.id))
                == 0
            )
            assert await s.scalar(text("SELECT status FROM recommendations WHERE id = :r"), {"r": rec.id}) == "open"
            await s.execute(text("UPDATE products SET monthly_fee_fen = 8 WHERE id = :p"), {"p": pricey.id})
        ok = await clients["customer_client"].post(f"/v1/recommendations/{rec.id}/accept", headers=idem(h))
        assert ok.status_code == 200, ok.text
        assert ok.json()["result"] == "ordered" and ok.json()["order"]["charge_fen"] == 8
        async with sm() as s:
            sub = await s.get(Subscription, ok.json()["order"]["subscription_id"])
            assert sub is not None and sub.channel == "app" and sub.customer_id == c.id
            assert (await ledger.verify(s))["ok"]

    async def test_not_eligible_is_409_with_reasons(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            c = await create_customer(s, tier="star1")
            vip = await create_product(s, eligibility={"min_tier": "gold"})
            rec = await create_recommendation(s, c.id, product_id=vip.id)
        body = assert_error(
            await clients["customer_client"].post(
                f"/v1/recommendations/{rec.id}/accept", headers=idem(tokens.customer(c.id))
            ),
            409,
        )
        assert body["error"] == "not_eligible" and body["context"]["reasons"] == ["tier_too_low"]

    async def test_a_contract_is_handed_to_the_manager(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=1)
            contract = await create_product(s, kind="contract", name="存 300 送 50% 合约", monthly_fee_fen=0)
            rec = await create_recommendation(s, w.a1[0].id, product_id=contract.id)
        r = await clients["customer_client"].post(
            f"/v1/recommendations/{rec.id}/accept", headers=idem(tokens.customer(w.a1[0].id))
        )
        assert r.status_code == 200 and r.json()["result"] == "handed_to_manager" and r.json()["order"] is None
        async with sm() as s:
            task = await s.get(CareTask, r.json()["task_id"])
            assert (task.kind, task.manager_id, task.product_id) == ("signature", w.mgr_a1.id, contract.id)
            assert (
                await s.scalar(
                    select(func.count()).select_from(Subscription).where(Subscription.customer_id == w.a1[0].id)
                )
                == 0
            )

    async def test_concurrent_accepts_place_one_order(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            c = await create_customer(s)
            await fm.usage(s, c.id, clock.add_months(clock.month_start(clock.today()), -1), balance_end_fen=50000)
            p = await create_product(s, monthly_fee_fen=3000)
            rec = await create_recommendation(s, c.id, product_id=p.id)
        h = tokens.customer(c.id)
        results = await asyncio.gather(
            *[
                clients["customer_client"].post(f"/v1/recommendations/{rec.id}/accept", headers=idem(h))
                for _ in range(6)
            ]
        )
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        assert len({r.json()["order"]["subscription_id"] for r in results}) == 1
        async with sm() as s:
            assert (
                await s.scalar(select(func.count()).select_from(Subscription).where(Subscription.customer_id == c.id))
                == 1
            )
            assert (
                await s.scalar(
                    text(
                        "SELECT count(*) FROM ledger_txns t JOIN subscriptions s ON t.reference = 'subscription:' || s.id "
                        "WHERE s.customer_id = :c AND t.kind = 'order_charge'"
                    ),
                    {"c": c.id},
                )
                == 1
            )


def _signed(settings, payload: dict, *, secret: str | None = None, ts: int | None = None) -> tuple[bytes, dict]:  # type: ignore[no-untyped-def]
    raw = json.dumps(payload, ensure_ascii=False).encode()
    sig = signing.sign(secret or settings.sms_gateway_secret, ts or int(time.time()), raw)
    return raw, {"Tenure-Signature": sig, "content-type": "application/json"}


class TestSmsReplies:
    async def _sms_offer(self, sm, *, balance: int = 50000, fee: int = 2000, kind: str = "data_pack"):  # type: ignore[no-untyped-def]
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=1)
            c = w.b1[0]
            await s.execute(
                text("UPDATE monthly_usage SET balance_end_fen = :b WHERE customer_id = :c"), {"b": balance, "c": c.id}
            )
            product = await create_product(s, kind=kind, name="10GB 流量包", monthly_fee_fen=fee)
            cid = await _campaign(s, branch_id=w.branch_b, product_id=product.id, flow="outbound", channel="sms")
        await campaign_service.dispatch_outbound(sm, campaign_id=cid)
        return w, c, product, cid

    def _payload(self, c: Customer, text_: str, mid: str) -> dict:
        return {
            "message_id": mid,
            "from": "+86" + c.phone,
            "text": text_,
            "received_at": datetime.now(clock.TZ).isoformat(),
        }

    async def test_reply_1_orders_once_and_confirms_in_chinese(self, clients, customer_app, sm, settings) -> None:
        w, c, product, cid = await self._sms_offer(sm)
        raw, headers = _signed(settings, self._payload(c, " １ ", "gw-msg-0001"))  # full-width, padded
        first = await clients["customer_client"].post("/v1/sms/replies", content=raw, headers=headers)
        assert first.status_code == 200, first.text
        out = first.json()
        assert (out["result"], out["keyword"], out["replayed"]) == ("ordered", "order", False)
        assert out["reply_text"].startswith("您已成功办理「10GB 流量包」，已扣费 20.00 元")
        assert customer_app.state.sms_sender.last_to(c.phone) == out["reply_text"]
        customer_app.state.sms_sender.outbox.clear()
        again = await clients["customer_client"].post("/v1/sms/replies", content=raw, headers=headers)
        assert again.json()["replayed"] is True and again.json()["subscription_id"] == out["subscription_id"]
        assert customer_app.state.sms_sender.last_to(c.phone) is None, "a redelivery texts nobody"
        async with sm() as s:
            sub = await s.get(Subscription, out["subscription_id"])
            assert (sub.channel, sub.product_id) == ("sms", product.id)
            touch = await s.get(Touch, out["touch_id"])
            assert (touch.outcome, touch.campaign_id) == ("ordered", cid) and touch.responded_at is not None
            reply = await s.scalar(select(SmsReply).where(SmsReply.gateway_message_id == "gw-msg-0001"))
            assert reply.customer_id == c.id and c.phone not in reply.phone_masked
            memo = await s.scalar(
                text("SELECT memo->>'consent_ref' FROM ledger_txns WHERE reference = :r"),
                {"r": f"subscription:{sub.id}"},
            )
            assert memo == "sms:gw-msg-0001"

    async def test_concurrent_redeliveries_act_once(self, clients, sm, settings) -> None:
        w, c, product, cid = await self._sms_offer(sm)
        raw, headers = _signed(settings, self._payload(c, "1", "gw-msg-0002"))
        results = await asyncio.gather(
            *[clients["customer_client"].post("/v1/sms/replies", content=raw, headers=headers) for _ in range(5)]
        )
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        assert sorted(r.json()["replayed"] for r in results) == [False, True, True, True, True]
        async with sm() as s:
            assert (
                await s.scalar(select(func.count()).select_from(Subscription).where(Subscription.customer_id == c.id))
                == 1
            )

    async def test_refusal_sms_when_the_balance_is_short(self, clients, sm, settings) -> None:
        w, c, product, cid = await self._sms_offer(sm, balance=10, fee=10000)
        raw, headers = _signed(settings, self._payload(c, "1", "gw-msg-0003"))
        out = (await clients["customer_client"].post("/v1/sms/replies", content=raw, headers=headers)).json()
        assert out["result"] == "insufficient_funds" and out["subscription_id"] is None
        assert "话费余额不足（需 100.00 元，当前 0.10 元）" in out["reply_text"]
        async with sm() as s:
            assert (
                await s.scalar(select(func.count()).select_from(Subscription).where(Subscription.customer_id == c.id))
                == 0
            )
            assert (await s.get(Touch, out["touch_id"])).outcome == "sent", "the offer stays open for a retry"

    async def test_refuse_unsubscribe_and_unknown(self, clients, sm, settings) -> None:
        w, c, product, cid = await self._sms_offer(sm)
        post = clients["customer_client"].post
        raw, headers = _signed(settings, self._payload(c, "好的吗", "gw-msg-0004"))
        assert (await post("/v1/sms/replies", content=raw, headers=headers)).json()["result"] == "unrecognised"
        raw, headers = _signed(settings, self._payload(c, "0", "gw-msg-0005"))
        refused = (await post("/v1/sms/replies", content=raw, headers=headers)).json()
        assert refused["result"] == "refused"
        raw, headers = _signed(settings, self._payload(c, "TD", "gw-msg-0006"))
        assert (await post("/v1/sms/replies", content=raw, headers=headers)).json()["result"] == "unsubscribed"
        async with sm() as s:
            assert (await s.get(Touch, refused["touch_id"])).outcome == "refused"
            assert (await s.get(Customer, c.id)).do_not_disturb is True

    async def test_a_bad_or_stale_signature_is_refused(self, clients, sm, settings) -> None:
        w, c, product, cid = await self._sms_offer(sm)
        payload = self._payload(c, "1", "gw-msg-0007")
        for raw, headers in (
            _signed(settings, payload, secret="not-the-secret"),
            _signed(settings, payload, ts=int(time.time()) - 3600),
        ):
            body = assert_error(
                await clients["customer_client"].post("/v1/sms/replies", content=raw, headers=headers), 401
            )
            assert body["error"] == "unauthorized"
        raw, headers = _signed(settings, payload)
        tampered = raw.replace(b'"1"', b'"Y"')
        assert (
            await clients["customer_client"].post("/v1/sms/replies", content=tampered, headers=headers)
        ).status_code == 401
        async with sm() as s:
            assert (
                await s.scalar(
                    select(func.count()).select_from(SmsReply).where(SmsReply.gateway_message_id == "gw-msg-0007")
                )
                == 0
            )


class TestOperatorMeasures:
    async def test_dashboard_overview_exports_and_the_window_setting(self, clients, sm, tokens) -> None:
        async with sm.begin() as s:
            w = await fm.world(s, per_manager=2)
            cid = await _campaign(
                s,
                branch_id=w.branch_a,
                product_id=w.product.id,
                flow="manager_task",
                channel="manager_call",
                holdout_pct=30,
            )
        admin = await _admin(sm, tokens)
        get = clients["admin_client"].get
        overview = await get("/v1/reports/overview", headers=admin)
        assert overview.status_code == 200, overview.text
        assert {"revenue_retention", "offline", "online", "contacts_per_customer_per_year", "campaigns"} <= set(
            overview.json()
        )
        assert cid in {int(c["group"]) for c in overview.json()["campaigns"]}
        rr = await get("/v1/reports/revenue-retention?group_by=branch&format=csv", headers=admin)
        assert rr.status_code == 200 and rr.text.lstrip("\ufeff").startswith("group_by,group,base_month")
        detail = await get(f"/v1/reports/campaigns/{cid}?format=csv", headers=admin)
        header, first = detail.text.lstrip("\ufeff").splitlines()[:2]
        # just launched: the warnings cell names why no effect is shown (too short, or no hold-out drawn of so few)
        assert "warnings" in header.split(",") and "{" not in first
        assert "post_period_too_short" in first or "no_comparison" in first
        put = await clients["admin_client"].put(
            "/v1/engine/settings/measurement", json={"attribution_days": 14}, headers=admin
        )
        assert put.status_code == 200, put.text
        report = (await get(f"/v1/reports/campaigns/{cid}", headers=admin)).json()
        assert report["summary"]["attribution_window_days"] == 14 and report["by_manager"]
        await clients["admin_client"].put(
            "/v1/engine/settings/measurement", json={"attribution_days": 7}, headers=admin
        )
