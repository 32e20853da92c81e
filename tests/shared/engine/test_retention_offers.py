"""Retention offers fit the cause (seed 002), within the per-customer retention budget (seed 003),
and key-moment playbooks are back-office rules (issue 14, items 8 and 11).

Planted high-risk customers of three causes (network complaints, tariff drifters, heavy
pay-per-use data) with a manager: their churn care task and the nightly retention
recommendation carry the offer of their cause (before: 充100送60 for everyone), the budget
refuses the dearer rungs, and editing a playbook through the admin API changes the next event.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from shared.engine import events as event_service
from shared.engine import retention_offers as offer_service
from tests.fixtures.factories import create_customer, create_org, create_product, create_staff
from tests.shared.engine.conftest import City, load_city, run

CAUSE_OF = {
    "network": "原因网络待修复",
    "drifter": "原因资费待修复",
    "payg": "原因四高-高套外流量",
    "high_bill_drifter": "原因四高-高ARPU",
}


@pytest.fixture(scope="module")
async def at_risk(sm, engine) -> tuple[City, dict[str, list[int]]]:  # type: ignore[no-untyped-def]
    """A city run once; then the planted customers marked high risk (as the churn stage would)
    and given a manager by hand, and the run repeated."""
    city = await load_city(sm, n=400)
    await run(engine, city)
    groups = {g: city.planted(g) for g in ("network", "drifter", "payg")}
    ids = [c for g in groups.values() for c in g]
    async with sm.begin() as s:
        await s.execute(
            text("UPDATE customer_profiles SET risk_level = 'high', churn_score = 0.8 WHERE customer_id = ANY(:ids)"),
            {"ids": ids},
        )
        await s.execute(
            text(
                "INSERT INTO manager_assignments (customer_id, manager_id, reason) "
                "SELECT c.id, (SELECT min(s.id) FROM staff_users s WHERE s.org_unit_id = c.branch_id "
                "              AND s.role = 'account_manager'), 'manual: retention test' "
                "FROM customers c WHERE c.id = ANY(:ids) ON CONFLICT (customer_id) DO NOTHING"
            ),
            {"ids": ids},
        )
        # tasks from the first run (before the risk was known) would be kept for the month
        await s.execute(text("DELETE FROM care_tasks WHERE customer_id = ANY(:ids)"), {"ids": ids})
    await run(engine, city)
    async with sm() as s:
        high_bill = set(
            (
                await s.scalars(
                    text(
                        "SELECT customer_id FROM customer_profiles WHERE customer_id = ANY(:ids) "
                        "AND four_high @> '[\"arpu_mismatch\"]'"
                    ),
                    {"ids": groups["drifter"]},
                )
            ).all()
        )
    groups["high_bill_drifter"] = sorted(high_bill)
    groups["drifter"] = [c for c in groups["drifter"] if c not in high_bill]
    assert all(groups.values())
    return city, groups


async def _churn_tasks(sm, ids: list[int]) -> dict[int, tuple[str | None, str, str | None]]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        rows = await s.execute(
            text(
                "SELECT t.customer_id, p.kind, t.reason, p.code FROM care_tasks t "
                "LEFT JOIN products p ON p.id = t.product_id "
                "WHERE t.kind = 'churn' AND t.customer_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return {r.customer_id: (r.kind, r.reason, r.code) for r in rows}


def _budget_yuan(reason: str) -> int:
    m = re.search(r"挽留预算¥(\d+)", reason)
    assert m, reason
    return int(m.group(1))


async def test_churn_tasks_and_recommendations_fit_the_cause(sm, at_risk) -> None:  # type: ignore[no-untyped-def]
    _, groups = at_risk
    # a drifter on a 199 plan using little of it (四高-高ARPU) is offered the cheaper plan
    expected = {"network": "broadband", "drifter": "contract", "payg": "data_pack", "high_bill_drifter": "plan"}
    for group, ids in groups.items():
        tasks = await _churn_tasks(sm, ids)
        assert set(tasks) == set(ids), group
        kinds = {kind for kind, _, _ in tasks.values()}
        assert kinds == {expected[group]}, (group, tasks)
        for _, reason, _ in tasks.values():
            assert reason.startswith("流失预警挽留:风险high") and CAUSE_OF[group] in reason and "挽留预算¥" in reason
        async with sm() as s:
            recs = (
                await s.execute(
                    text(
                        "SELECT p.kind, r.reason FROM recommendations r JOIN strategies st ON st.id = r.strategy_id "
                        "LEFT JOIN products p ON p.id = r.product_id "
                        "WHERE r.customer_id = ANY(:ids) AND r.status = 'open' AND st.condition ->> 'risk' IS NOT NULL"
                    ),
                    {"ids": ids},
                )
            ).all()
        assert recs and {kind for kind, _ in recs} == {expected[group]}, (group, recs)
        assert all(CAUSE_OF[group] in reason for _, reason in recs)


async def test_budget_refuses_the_dearer_offer(admin_client, tokens, sm, engine, at_risk) -> None:  # type: ignore[no-untyped-def]
    city, groups = at_risk
    drifters = groups["drifter"]
    async with sm() as s:
        arpu = {
            cid: int(a)
            for cid, a in await s.execute(
                text("SELECT customer_id, arpu_fen FROM customer_profiles WHERE customer_id = ANY(:ids)"),
                {"ids": drifters},
            )
        }
    async with sm.begin() as s:
        strategist = (await create_staff(s, role="strategist", org_unit_id=None)).id
    low = min(drifters, key=lambda c: (arpu[c], c))
    # the lowest-ARPU drifter's budget lands between the recharge bonus (¥60) and the contract (¥90)
    save_rate = 7500 / (0.8 * arpu[low] * 24)
    headers = tokens.admin(strategist, "strategist")
    r = await admin_client.put("/v1/engine/settings/retention_budget", json={"save_rate": save_rate}, headers=headers)
    assert r.status_code == 200, r.text
    async with sm.begin() as s:
        await s.execute(
            text("DELETE FROM care_tasks WHERE kind = 'churn' AND customer_id = ANY(:ids)"),
            {"ids": [c for g in groups.values() for c in g]},
        )
    try:
        await run(engine, city)
    finally:
        r = await admin_client.put("/v1/engine/settings/retention_budget", json={"save_rate": 0.3}, headers=headers)
        assert r.status_code == 200
    tasks = await _churn_tasks(sm, drifters)
    kind, reason, _ = tasks[low]
    assert kind == "recharge_bonus", reason
    assert abs(_budget_yuan(reason) - 75) <= 1 and "超预算未推:存费送费合约¥90" in reason
    for cid, (kind, reason, _) in tasks.items():
        budget = _budget_yuan(reason)
        want = "contract" if budget >= 90 else "recharge_bonus" if budget >= 60 else None
        assert kind == want, (cid, reason)
    # a customer worth nothing to keep gets a no-cost care call
    async with sm.begin() as s:
        await s.execute(
            text("UPDATE customer_profiles SET uplift_score = 0 WHERE customer_id = :c"), {"c": groups["network"][0]}
        )
        await s.execute(text("DELETE FROM care_tasks WHERE customer_id = :c"), {"c": groups["network"][0]})
    await run(engine, city)
    kind, reason, _ = (await _churn_tasks(sm, groups["network"][:1]))[groups["network"][0]]
    assert kind is None and "挽留预算¥0" in reason and "超预算未推:网络修复+宽带提速体验¥30" in reason
    assert "推荐网络修复回访" in reason


async def _setup_event_customer(sm):  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        _, _, branch = await create_org(s)
        operator = await create_staff(s, role="operator", org_unit_id=None)
        strategist = await create_staff(s, role="strategist", org_unit_id=None)
        manager = await create_staff(s, role="account_manager", org_unit_id=branch.id)
        c = await create_customer(s, branch_id=branch.id)
        await create_product(s, kind="broadband", monthly_fee_fen=1)
        pack = await create_product(s, kind="data_pack", monthly_fee_fen=1)
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id, reason) VALUES (:c, :m, 'engine')"),
            {"c": c.id, "m": manager.id},
        )
        return operator.id, strategist.id, c.id, pack.id


async def test_defaults_equal_the_former_code(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    _, strategist, _, _ = await _setup_event_customer(sm)
    headers = tokens.admin(strategist, "strategist")
    plays = (await admin_client.get("/v1/retention/playbooks", headers=headers)).json()
    assert {
        p["key"]: (p["product_kind"], p["channel"], p["task_kind"], p["reason"], p["script"]) for p in plays
    } == event_service._PLAYBOOK
    ladders = (await admin_client.get("/v1/retention/offers", headers=headers)).json()
    assert {
        cause: [(o["label"], o["product_kind"], o["channel"], o["cost_fen"], o["script"]) for o in rungs]
        for cause, rungs in ladders.items()
    } == {c: list(v) for c, v in offer_service.DEFAULT_OFFERS.items()}


async def test_editing_a_playbook_changes_the_next_event(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    operator, strategist, cid, pack = await _setup_event_customer(sm)
    rule = {
        "product_id": pack,
        "channel": "sms",
        "task_kind": "key_moment",
        "reason": "热线宽带卡顿(改)",
        "script": "宽带卡顿期间先送您一个流量包应急。",
    }
    r = await admin_client.put(
        "/v1/retention/playbooks/hotline_call:broadband_lag", json=rule, headers=tokens.admin(strategist, "strategist")
    )
    assert r.status_code == 200, r.text
    assert r.json()["product_id"] == pack and r.json()["task_kind"] == "key_moment"
    event = {
        "source": "hotline",
        "external_id": uuid.uuid4().hex,
        "customer_id": cid,
        "kind": "hotline_call",
        "reason": "broadband_lag",
    }
    r = await admin_client.post("/v1/events", json=event, headers=tokens.admin(operator, "operator"))
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert result["task_id"], result  # the default rule created no task
    async with sm() as s:
        rec = (
            await s.execute(
                text("SELECT product_id, channel, script, reason FROM recommendations WHERE id = :id"),
                {"id": result["recommendation_id"]},
            )
        ).one()
        task = (
            await s.execute(
                text("SELECT product_id, kind, reason FROM care_tasks WHERE id = :id"), {"id": result["task_id"]}
            )
        ).one()
    assert (rec.product_id, rec.channel, rec.script) == (pack, "sms", rule["script"])
    assert "热线宽带卡顿(改)" in rec.reason
    assert (task.product_id, task.kind) == (pack, "key_moment")


async def test_bad_input_is_422_and_roles_are_checked(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    operator, strategist, _, pack = await _setup_event_customer(sm)
    headers = tokens.admin(strategist, "strategist")
    rung = {"label": "流量包", "product_kind": "data_pack", "channel": "sms", "script": "加装流量包。", "cost_fen": 500}
    bad = [
        ("/v1/retention/offers/weather", {"offers": [rung]}),
        ("/v1/retention/offers/network", {"offers": [{**rung, "product_kind": None, "product_id": 999_999_999}]}),
        ("/v1/retention/offers/network", {"offers": [{**rung, "product_id": pack}]}),
        ("/v1/retention/offers/network", {"offers": [{**rung, "product_kind": "spaceship"}]}),
        ("/v1/retention/offers/network", {"offers": [{**rung, "channel": "pigeon"}]}),
        ("/v1/retention/offers/network", {"offers": [{**rung, "cost_fen": -1}]}),
        ("/v1/retention/offers/network", {"offers": [rung] * 6}),
        ("/v1/retention/playbooks/hotline_call:weather", {**rung}),
        (
            "/v1/retention/playbooks/port_out_code_request",
            {"product_kind": "contract", "channel": "outbound_call", "task_kind": None, "reason": "x", "script": "y"},
        ),
        (
            "/v1/retention/playbooks/low_balance",
            {"product_kind": "contract", "channel": "sms", "task_kind": "birthday", "reason": "x", "script": "y"},
        ),
    ]
    for path, body in bad:
        r = await admin_client.put(path, json=body, headers=headers)
        assert r.status_code == 422, (path, body, r.status_code, r.text)
        assert r.json().get("error"), r.text
    # nothing was half-written: the network ladder is still the default
    ladders = (await admin_client.get("/v1/retention/offers", headers=headers)).json()
    assert [o["label"] for o in ladders["network"]] == [o[0] for o in offer_service.DEFAULT_OFFERS["network"]]
    r = await admin_client.put(
        "/v1/retention/offers/network", json={"offers": [rung]}, headers=tokens.admin(operator, "operator")
    )
    assert r.status_code == 403
    r = await admin_client.put("/v1/retention/offers/four_high:payg_data", json={"offers": [rung]}, headers=headers)
    assert r.status_code == 200 and [o["rank"] for o in r.json()] == [1], r.text
    r = await admin_client.put("/v1/engine/settings/retention_budget", json={"weather": 1}, headers=headers)
    assert r.status_code == 422


async def test_concurrent_ladder_edits_leave_one_whole_ladder(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.db import gather_concurrently

    _, strategist, _, _ = await _setup_event_customer(sm)
    headers = tokens.admin(strategist, "strategist")

    def ladder(i: int) -> dict:  # type: ignore[type-arg]
        return {
            "offers": [
                {"label": f"方案{i}-{n}", "product_kind": None, "channel": "outbound_call", "script": "回访。"}
                for n in range(3)
            ]
        }

    results = await gather_concurrently(
        6, lambda i: admin_client.put("/v1/retention/offers/service", json=ladder(i), headers=headers)
    )
    assert [getattr(r, "status_code", r) for r in results] == [200] * 6
    labels = [o["label"] for o in (await admin_client.get("/v1/retention/offers", headers=headers)).json()["service"]]
    assert len(labels) == 3 and len({label.split("-")[0] for label in labels}) == 1, labels
