"""Campaigns: whitelisted audience query, deterministic hold-out, delivery by flow, outbound sends."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from shared.campaigns import service as campaigns
from shared.campaigns.query import AudienceQuery
from shared.clock import TZ as LOCAL_TZ
from shared.errors import Conflict, Unprocessable
from shared.notify.outbound import DevGateway, HttpGateway, OutboundMessage
from tests.fixtures.factories import create_branch, create_product, create_staff
from tests.fixtures.factories_backoffice import bulk_customers, create_strategy, set_profiles, usage_rows

TODAY = datetime.now(LOCAL_TZ).date()


async def make(
    session, branch_id: int, *, flow="app", channel="app", pct=30, query=None, strategy_id=None, cost=0
) -> int:
    q = AudienceQuery.model_validate({"branch_ids": [branch_id], **(query or {})})
    c = await campaigns.create_campaign(
        session,
        name="keep them",
        query=q,
        strategy_id=strategy_id,
        channel=channel,
        flow=flow,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=30),
        holdout_pct=pct,
        cost_per_touch_fen=cost,
        created_by=None,
    )
    return c.id


class TestHoldout:
    async def test_holdout_is_the_hash_rule_and_gets_nothing(self, db) -> None:
        branch = await create_branch(db)
        ids = await bulk_customers(db, 400, branch_id=branch.id)
        product = await create_product(db)
        sid = await create_strategy(db, product_id=product.id)
        await usage_rows(db, ids[0], {campaigns.add_months(TODAY.replace(day=1), -k): 1000 * k for k in (1, 2, 3, 4)})
        cid = await make(db, branch.id, strategy_id=sid)
        result = await campaigns.launch(db, cid)
        assert result.members == 400 and result.holdout + result.treated == 400
        assert 80 <= result.holdout <= 160  # 30 % of 400 with hash noise
        mismatched = await db.scalar(
            text(
                "SELECT count(*) FROM campaign_members m WHERE m.campaign_id = :c AND m.holdout <> "
                "((((hashtext(CAST(:k AS text) || ':' || m.customer_id::text) % 100) + 100) % 100) < 30)"
            ),
            {"c": cid, "k": str(cid)},
        )
        assert mismatched == 0
        recs = (
            await db.execute(
                text(
                    "SELECT m.holdout, count(r.id) FROM campaign_members m LEFT JOIN recommendations r "
                    "ON r.customer_id = m.customer_id AND r.campaign_id = m.campaign_id WHERE m.campaign_id = :c GROUP BY 1"
                ),
                {"c": cid},
            )
        ).all()
        assert dict(recs) == {True: 0, False: result.treated}
        assert result.recommendations == result.treated
        assert (
            await db.scalar(
                text("SELECT count(*) FROM recommendations WHERE campaign_id = :c AND product_id = :p"),
                {"c": cid, "p": product.id},
            )
            == result.treated
        )
        # baseline ARPU = mean of the three months before the start month (1000, 2000, 3000)
        assert (
            await db.scalar(
                text("SELECT baseline_arpu_fen FROM campaign_members WHERE campaign_id = :c AND customer_id = :i"),
                {"c": cid, "i": ids[0]},
            )
            == 2000
        )

    async def test_same_campaign_same_split(self, db) -> None:
        """The split depends only on (campaign id, customer id): recomputing it gives the same groups."""
        branch = await create_branch(db)
        await bulk_customers(db, 50, branch_id=branch.id)
        cid = await make(db, branch.id, pct=50)
        await campaigns.launch(db, cid)
        first = (
            await db.execute(
                text("SELECT customer_id, holdout FROM campaign_members WHERE campaign_id = :c ORDER BY 1"), {"c": cid}
            )
        ).all()
        await db.execute(text("DELETE FROM recommendations WHERE campaign_id = :c"), {"c": cid, "k": str(cid)})
        await db.execute(text("DELETE FROM campaign_members WHERE campaign_id = :c"), {"c": cid, "k": str(cid)})
        await db.execute(text("UPDATE campaigns SET status = 'draft' WHERE id = :c"), {"c": cid, "k": str(cid)})
        await campaigns.launch(db, cid)
        again = (
            await db.execute(
                text("SELECT customer_id, holdout FROM campaign_members WHERE campaign_id = :c ORDER BY 1"), {"c": cid}
            )
        ).all()
        assert first == again

    async def test_launch_twice_and_edit_after_launch_refused(self, db) -> None:
        branch = await create_branch(db)
        await bulk_customers(db, 5, branch_id=branch.id)
        cid = await make(db, branch.id)
        await campaigns.launch(db, cid)
        with pytest.raises(Conflict):
            await campaigns.launch(db, cid)
        with pytest.raises(Conflict):
            await campaigns.update_campaign(db, cid, name="other")
        await campaigns.finish(db, cid)
        assert (
            await db.scalar(
                text("SELECT count(*) FROM recommendations WHERE campaign_id = :c AND status = 'open'"), {"c": cid}
            )
            == 0
        )


class TestQuery:
    async def test_query_keys_and_together_values_or_together(self, db) -> None:
        branch = await create_branch(db)
        ids = await bulk_customers(db, 6, branch_id=branch.id, tier="gold")
        await db.execute(text("UPDATE customers SET tier = 'star2' WHERE id = :i"), {"i": ids[5]})
        await set_profiles(db, ids[:2], risk_level="high", segment="potential_loss", four_high=["silence"])
        await set_profiles(
            db, ids[2:4], risk_level="medium", segment="potential_loss", four_high=["tariff", "payg_data"]
        )
        await set_profiles(db, ids[4:], risk_level="high", segment="stable", four_high=[])
        q = {
            "branch_ids": [branch.id],
            "tiers": ["gold", "diamond"],
            "risk_levels": ["high", "medium"],
            "segments": ["potential_loss"],
            "four_high": ["silence", "payg_data"],
        }
        assert (await campaigns.preview(db, AudienceQuery.model_validate(q)))["audience"] == 4
        q["four_high"] = ["silence"]
        assert (await campaigns.preview(db, AudienceQuery.model_validate(q)))["audience"] == 2
        assert (
            await campaigns.preview(
                db, AudienceQuery.model_validate({"branch_ids": [branch.id], "risk_levels": ["high"]})
            )
        )["audience"] == 4

    async def test_tags_any_and_all(self, db) -> None:
        branch = await create_branch(db)
        ids = await bulk_customers(db, 3, branch_id=branch.id)
        tag_ids = []
        for code in ("t_alpha_x", "t_beta_x"):
            tag_ids.append(
                await db.scalar(
                    text(
                        "INSERT INTO tag_definitions (code, name, family, rule, builtin, active, version) "
                        "VALUES (:c || floor(random()*1e9)::text, :c, 'basic', '{}', false, true, 1) RETURNING id"
                    ),
                    {"c": code},
                )
            )
        codes = [await db.scalar(text("SELECT code FROM tag_definitions WHERE id = :i"), {"i": t}) for t in tag_ids]
        await db.execute(
            text(
                "INSERT INTO customer_tag_sets (customer_id, tag_ids) "
                "VALUES (:a, ARRAY[CAST(:t1 AS int)]), (:b, ARRAY[CAST(:t1 AS int), CAST(:t2 AS int)])"
            ),
            {"a": ids[0], "b": ids[1], "t1": tag_ids[0], "t2": tag_ids[1]},
        )
        base = {"branch_ids": [branch.id]}
        assert (await campaigns.preview(db, AudienceQuery.model_validate({**base, "tags": codes})))["audience"] == 2
        assert (await campaigns.preview(db, AudienceQuery.model_validate({**base, "tags_all": codes})))["audience"] == 1

    async def test_rule_tree_with_and_or_groups(self, db) -> None:
        """`rule` is the tag-rule grammar over the same whitelist; it reads the nightly features."""
        branch = await create_branch(db)
        ids = await bulk_customers(db, 5, branch_id=branch.id, tier="gold")
        await db.execute(text("UPDATE customers SET tier = 'star2' WHERE id = ANY(:i)"), {"i": ids[3:]})
        await db.execute(
            text(
                "INSERT INTO customer_features (customer_id, branch_id, tier, data_mb, competitor_calls_90d) "
                "SELECT id, branch_id, tier, CASE WHEN id = :heavy THEN 30000 ELSE 1000 END, "
                "CASE WHEN id = :caller THEN 2 ELSE 0 END FROM customers WHERE id = ANY(:i) AND id <> :bare"
            ),
            {"i": ids, "heavy": ids[3], "caller": ids[4], "bare": ids[2]},
        )
        base = {"branch_ids": [branch.id]}
        gold_or_heavy = {
            "any": [{"field": "tier", "op": "=", "value": "gold"}, {"field": "data_mb", "op": ">=", "value": 20480}]
        }
        count = lambda q: campaigns.preview(db, AudienceQuery.model_validate({**base, **q}))  # noqa: E731
        assert (await count({"rule": gold_or_heavy}))["audience"] == 3, "two gold with features + the heavy user"
        both = {"all": [gold_or_heavy, {"not": {"field": "competitor_calls_90d", "op": ">", "value": 0}}]}
        await db.execute(
            text("UPDATE customer_features SET competitor_calls_90d = 1 WHERE customer_id = :i"), {"i": ids[0]}
        )
        assert (await count({"rule": both}))["audience"] == 2
        assert (await count({"rule": both, "tiers": ["gold"]}))["audience"] == 1, "keys and the rule must all hold"
        cid = await make(db, branch.id, query={"rule": both})
        assert (await campaigns.launch(db, cid)).members == 2

    def test_unknown_keys_and_odd_values_refused(self) -> None:
        from pydantic import ValidationError

        for bad in (
            {"tierz": ["gold"]},
            {"tags": ["x'; DROP TABLE customers; --"]},
            {"risk_levels": ["extreme"]},
            {"branch_ids": [0]},
            {"rule": {"field": "id_number", "op": "=", "value": "1; DROP TABLE customers"}},
            {"rule": {"field": "tier", "op": "LIKE", "value": "%"}},
            {"rule": {"any": []}},
        ):
            with pytest.raises(ValidationError):
                AudienceQuery.model_validate(bad)

    async def test_flow_channel_mismatch_refused(self, db) -> None:
        branch = await create_branch(db)
        with pytest.raises(Unprocessable):
            await make(db, branch.id, flow="outbound", channel="app")


class TestDelivery:
    async def test_manager_tasks_for_assigned_treated_members(self, db) -> None:
        branch = await create_branch(db)
        ids = await bulk_customers(db, 40, branch_id=branch.id)
        mgr = await create_staff(db, role="account_manager", org_unit_id=branch.id)
        for cid in ids[:30]:
            await db.execute(
                text("INSERT INTO manager_assignments (customer_id, manager_id) VALUES (:c, :m)"),
                {"c": cid, "m": mgr.id},
            )
        cid = await make(db, branch.id, flow="manager_task", channel="manager_call", pct=20)
        r = await campaigns.launch(db, cid)
        treated_assigned = await db.scalar(
            text(
                "SELECT count(*) FROM campaign_members m JOIN manager_assignments a USING (customer_id) "
                "WHERE m.campaign_id = :c AND NOT m.holdout"
            ),
            {"c": cid, "k": str(cid)},
        )
        assert r.tasks == treated_assigned and r.unassigned == r.treated - treated_assigned
        assert (
            await db.scalar(
                text(
                    "SELECT count(*) FROM care_tasks t JOIN campaign_members m ON m.customer_id = t.customer_id "
                    "AND m.campaign_id = t.campaign_id WHERE t.campaign_id = :c AND (m.holdout OR t.kind <> 'campaign' "
                    "OR t.manager_id <> :mgr)"
                ),
                {"c": cid, "mgr": mgr.id},
            )
            == 0
        )

    async def test_outbound_respects_contact_pressure_and_dispatches_once(self, sm) -> None:
        async with sm.begin() as s:
            branch = await create_branch(s)
            ids = await bulk_customers(s, 30, branch_id=branch.id)
            await s.execute(text("UPDATE customers SET do_not_disturb = true WHERE id = :i"), {"i": ids[0]})
            for _ in range(4):  # customer 2 already had 4 touches this month (the default cap)
                await s.execute(
                    text(
                        "INSERT INTO touches (customer_id, channel, outcome, cost_fen, visible_to_customer) VALUES (:i, 'sms', 'sent', 0, true)"
                    ),
                    {"i": ids[1]},
                )
            await s.execute(
                text(
                    "INSERT INTO touches (customer_id, channel, outcome, cost_fen, visible_to_customer) VALUES (:i, 'outbound_call', 'refused', 0, true)"
                ),
                {"i": ids[2]},
            )
            cid = await make(s, branch.id, flow="outbound", channel="sms", pct=0, cost=5)
            r = await campaigns.launch(s, cid)
        assert r.treated == 30 and r.queued == 27 and r.suppressed == 3
        gateway = DevGateway()
        totals = await campaigns.dispatch_outbound(sm, campaign_id=cid, gateway=gateway, batch=7)
        assert totals == {"sent": 27, "failed": 0} and len(gateway.outbox) == 27
        assert {m.customer_id for m in gateway.outbox}.isdisjoint(ids[:3])
        assert await campaigns.dispatch_outbound(sm, campaign_id=cid, gateway=gateway) == {"sent": 0, "failed": 0}
        async with sm() as s:
            assert (
                await s.scalar(
                    text("SELECT sum(cost_fen) FROM touches WHERE campaign_id = :c AND outcome = 'sent'"), {"c": cid}
                )
                == 27 * 5
            )

    async def test_http_gateway_failures_mark_messages_failed(self) -> None:
        msgs = [OutboundMessage(1, 1, "13800000001", "sms", "hi"), OutboundMessage(2, 2, "13800000002", "sms", "hi")]
        ok = HttpGateway(
            "http://gw",
            "t",
            transport=httpx.MockTransport(
                lambda req: httpx.Response(200, json={"results": [{"id": 1, "accepted": True, "ref": "x"}]})
            ),
        )
        res = {r.touch_id: r for r in await ok.send_batch(msgs)}
        assert res[1].ok and not res[2].ok
        for transport in (
            httpx.MockTransport(lambda req: httpx.Response(500)),
            httpx.MockTransport(lambda req: httpx.Response(200, text="not json")),
            httpx.MockTransport(lambda req: httpx.Response(302, headers={"location": "http://127.0.0.1/"})),
        ):
            gw = HttpGateway("http://gw", "t", transport=transport)
            assert [r.ok for r in await gw.send_batch(msgs)] == [False, False]

    async def test_launch_due_starts_scheduled_campaigns(self, sm) -> None:
        async with sm.begin() as s:
            branch = await create_branch(s)
            await bulk_customers(s, 3, branch_id=branch.id)
            cid = await make(s, branch.id)
            await campaigns.schedule(s, cid)
        launched = await campaigns.launch_due(sm, today=TODAY + timedelta(days=1))
        assert cid in launched
        async with sm() as s:
            assert (await campaigns.get_campaign(s, cid)).status == "running"
