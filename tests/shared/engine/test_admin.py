"""Back-office endpoints of the engine: tags, strategies, tiers, four-high thresholds, runs."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.fixtures.factories import create_staff
from tests.fixtures.jobs import drain


async def _staff(sm, role: str) -> int:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        return (await create_staff(s, role=role)).id


async def _audits(sm, action: str) -> int:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return int(await s.scalar(text("SELECT count(*) FROM audit_log WHERE action = :a"), {"a": action}) or 0)


class TestTags:
    async def test_add_edit_disable_preview_with_audit(self, admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
        h = tokens.admin(await _staff(sm, "strategist"), "strategist")
        code = f"t_{uuid.uuid4().hex[:8]}"
        rule = {
            "all": [{"field": "arpu_fen", "op": ">=", "value": 10000}, {"field": "tier", "op": "in", "value": ["gold"]}]
        }
        r = await admin_client.post(
            "/v1/tags", json={"code": code, "name": "高消费金卡", "family": "basic", "rule": rule}, headers=h
        )
        assert r.status_code == 201, r.text
        tag_id = r.json()["id"]
        assert (
            await admin_client.post(
                "/v1/tags", json={"code": code, "name": "x", "family": "basic", "rule": rule}, headers=h
            )
        ).status_code == 409
        r = await admin_client.patch(
            f"/v1/tags/{tag_id}", json={"rule": {"field": "arpu_fen", "op": ">", "value": 0}}, headers=h
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        r = await admin_client.post(f"/v1/tags/{tag_id}/disable", headers=h)
        assert r.json()["active"] is False
        r = await admin_client.get(f"/v1/tags/{tag_id}/preview", headers=h)
        assert r.status_code == 200 and r.json()["customers"] >= 0
        assert await _audits(sm, "tag.create") >= 1 and await _audits(sm, "tag.update") >= 1

    async def test_injection_attempts_are_422_and_values_are_bound(self, admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
        h = tokens.admin(await _staff(sm, "strategist"), "strategist")
        for rule in (
            {"field": "id; DROP TABLE customers", "op": "=", "value": 1},
            {"field": "arpu_fen", "op": "; DELETE FROM customers; --", "value": 1},
            {"field": "arpu_fen", "op": ">", "value": "1 OR 1=1"},
        ):
            r = await admin_client.post(
                "/v1/tags",
                json={"code": f"x_{uuid.uuid4().hex[:8]}", "name": "x", "family": "basic", "rule": rule},
                headers=h,
            )
            assert r.status_code == 422, r.text
            assert r.json()["error"] in ("invalid_rule", "validation_error", "unprocessable")
            r = await admin_client.post("/v1/tags/preview", json={"rule": rule}, headers=h)
            assert r.status_code == 422
        r = await admin_client.post(
            "/v1/tags/preview", json={"rule": {"field": "tier", "op": "=", "value": "' OR 1=1 --"}}, headers=h
        )
        assert r.status_code == 200 and r.json()["customers"] == 0
        async with sm() as s:
            assert await s.scalar(text("SELECT to_regclass('customers') IS NOT NULL"))

    async def test_roles(self, admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
        op = tokens.admin(await _staff(sm, "operator"), "operator")
        assert (await admin_client.get("/v1/tags", headers=op)).status_code == 403
        analyst = tokens.admin(await _staff(sm, "analyst"), "analyst")
        assert (await admin_client.get("/v1/tags?family=channel", headers=analyst)).status_code == 200
        assert (await admin_client.post("/v1/tags", json={}, headers=analyst)).status_code == 403


class TestStrategiesTiersThresholds:
    async def test_strategy_condition_is_validated(self, admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
        h = tokens.admin(await _staff(sm, "strategist"), "strategist")
        r = await admin_client.get("/v1/strategies", headers=h)
        assert r.status_code == 200 and len(r.json()) >= 10
        good = {
            "name": "测试策略",
            "condition": {"segment": ["stable"], "tier": ["gold"]},
            "channel": "sms",
            "script": "您好",
            "priority": 300,
        }
        r = await admin_client.post("/v1/strategies", json=good, headers=h)
        assert r.status_code == 201, r.text
        bad = {**good, "condition": {"segment; DROP TABLE strategies": ["x"]}}
        assert (await admin_client.post("/v1/strategies", json=bad, headers=h)).status_code == 422
        assert (
            await admin_client.post("/v1/strategies", json={**good, "channel": "fax"}, headers=h)
        ).status_code == 422
        r = await admin_client.patch(f"/v1/strategies/{r.json()['id']}", json={"active": False}, headers=h)
        assert r.status_code == 200 and r.json()["active"] is False

    async def test_tier_rules_and_thresholds(self, admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
        h = tokens.admin(await _staff(sm, "strategist"), "strategist")
        r = await admin_client.get("/v1/tiers/rules", headers=h)
        assert [t["tier"] for t in r.json()] == ["star1", "star2", "star3", "star4", "star5", "gold", "diamond"]
        r = await admin_client.put(
            "/v1/tiers/rules/gold",
            json={"rank": 6, "min_tenure_months": 60, "min_avg_bill_fen": 21000, "benefits": ["专属客户经理"]},
            headers=h,
        )
        assert r.status_code == 200
        assert (
            await admin_client.put(
                "/v1/tiers/rules/platinum", json={"rank": 9, "min_tenure_months": 1, "min_avg_bill_fen": 1}, headers=h
            )
        ).status_code == 422
        r = await admin_client.put("/v1/four-high/thresholds", json={"payg_min_fen": 2500}, headers=h)
        assert r.status_code == 200 and r.json()["payg_min_fen"] == 2500
        assert (
            await admin_client.put("/v1/four-high/thresholds", json={"drop_table": 1}, headers=h)
        ).status_code == 422
        await admin_client.put("/v1/four-high/thresholds", json={"payg_min_fen": 2000}, headers=h)
        assert await _audits(sm, "engine.settings.update") >= 2


class TestRuns:
    async def test_start_run_in_background_and_follow_it(self, admin_client, tokens, sm, settings) -> None:  # type: ignore[no-untyped-def]
        h = tokens.admin(await _staff(sm, "operator"), "operator")
        r = await admin_client.post("/v1/engine/runs", json={"stages": ["features", "tiers"]}, headers=h)
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        assert (await admin_client.post("/v1/engine/runs", json={}, headers=h)).status_code == 409
        assert (await admin_client.get(f"/v1/engine/runs/{run_id}", headers=h)).json()["status"] == "queued"
        await drain(settings)  # the job worker runs it
        body = (await admin_client.get(f"/v1/engine/runs/{run_id}", headers=h)).json()
        assert body["status"] == "done", body
        stages = {s["stage"]: s for s in body["stages"]}
        assert stages["features"]["status"] == "done" and stages["tiers"]["status"] == "done"
        assert stages["tags"]["status"] == "pending"
        assert (await admin_client.get("/v1/engine/runs/999999", headers=h)).status_code == 404
        analyst = tokens.admin(await _staff(sm, "analyst"), "analyst")
        assert (await admin_client.post("/v1/engine/runs", json={}, headers=analyst)).status_code == 403
