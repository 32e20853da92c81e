"""Key moments through POST /v1/events: the matching recommendation or care task at once, under
contact pressure, idempotent by (source, external_id)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from shared import clock
from shared.touches.service import record_touch
from tests.fixtures.factories import create_customer, create_org, create_product, create_staff


async def _setup(sm, **customer):  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        _, _, branch = await create_org(s)
        operator = await create_staff(s, role="operator", org_unit_id=None)
        manager = await create_staff(s, role="account_manager", org_unit_id=branch.id)
        c = await create_customer(s, branch_id=branch.id, **customer)
        await create_product(s, kind="broadband", monthly_fee_fen=1)
        await create_product(s, kind="recharge_bonus", monthly_fee_fen=1)
        return operator.id, manager.id, c.id


def _event(customer_id: int, kind: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"source": "hotline", "external_id": uuid.uuid4().hex, "customer_id": customer_id, "kind": kind, **extra}


async def test_hotline_broadband_lag_gives_a_recommendation_and_replays(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    op, _, cid = await _setup(sm)
    headers = tokens.admin(op, "operator")
    body = _event(cid, "hotline_call", reason="broadband_lag")
    r = await admin_client.post("/v1/events", json=body, headers=headers)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert result["recommendation_id"] and result["playbook"] == "hotline_call:broadband_lag"
    async with sm() as s:
        rec = (
            await s.execute(
                text(
                    "SELECT r.channel, p.kind FROM recommendations r JOIN products p ON p.id = r.product_id "
                    "WHERE r.id = :id"
                ),
                {"id": result["recommendation_id"]},
            )
        ).one()
    assert tuple(rec) == ("hotline", "broadband")
    again = await admin_client.post("/v1/events", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["result"] == result
    clash = await admin_client.post("/v1/events", json={**body, "kind": "low_balance"}, headers=headers)
    assert clash.status_code == 409
    async with sm() as s:
        n = await s.scalar(text("SELECT count(*) FROM recommendations WHERE customer_id = :c"), {"c": cid})
    assert n == 1


async def test_competitor_call_creates_a_care_task_for_the_manager(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    op, mgr, cid = await _setup(sm)
    async with sm.begin() as s:
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id, reason) VALUES (:c, :m, 'engine')"),
            {"c": cid, "m": mgr},
        )
    r = await admin_client.post("/v1/events", json=_event(cid, "competitor_call"), headers=tokens.admin(op, "operator"))
    assert r.status_code == 201, r.text
    task_id = r.json()["result"]["task_id"]
    async with sm() as s:
        task = (
            await s.execute(
                text("SELECT manager_id, kind, status, product_id FROM care_tasks WHERE id = :id"), {"id": task_id}
            )
        ).one()
    assert task.manager_id == mgr and task.kind == "churn" and task.status == "open" and task.product_id


async def test_contact_pressure_suppresses_the_reaction(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    op, mgr, cid = await _setup(sm)
    async with sm.begin() as s:
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id, reason) VALUES (:c, :m, 'engine')"),
            {"c": cid, "m": mgr},
        )
        for _ in range(4):
            await record_touch(s, customer_id=cid, channel="sms", outcome="reached")
    r = await admin_client.post("/v1/events", json=_event(cid, "usage_collapse"), headers=tokens.admin(op, "operator"))
    assert r.status_code == 201
    result = r.json()["result"]
    # the outbound call and the manager's task are held back; the offer falls back to the app (inbound)
    assert result["task_id"] is None
    assert {s["reason"] for s in result["suppressed"]} == {"monthly_cap"}
    assert result["channel"] == "app" and result["recommendation_id"] is not None
    async with sm() as s:
        assert await s.scalar(text("SELECT count(*) FROM care_tasks WHERE customer_id = :c"), {"c": cid}) == 0
        assert (
            await s.scalar(
                text("SELECT channel FROM recommendations WHERE id = :r"), {"r": result["recommendation_id"]}
            )
            == "app"
        )


async def test_do_not_disturb_blocks_outbound_sms(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    op, _, cid = await _setup(sm, do_not_disturb=True)
    r = await admin_client.post("/v1/events", json=_event(cid, "low_balance"), headers=tokens.admin(op, "operator"))
    result = r.json()["result"]
    assert result["suppressed"] == [{"channel": "sms", "reason": "do_not_disturb", "fell_back_to": "app"}]
    assert result["channel"] == "app" and result["recommendation_id"] is not None


async def test_roles_and_validation(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    op, _, cid = await _setup(sm)
    assert (
        await admin_client.post("/v1/events", json=_event(cid, "low_balance"), headers=tokens.admin(op, "analyst"))
    ).status_code == 403
    headers = tokens.admin(op, "operator")
    assert (await admin_client.post("/v1/events", json=_event(cid, "weather"), headers=headers)).status_code == 422
    assert (
        await admin_client.post(
            "/v1/events", json={**_event(cid, "low_balance"), "external_id": "a b'"}, headers=headers
        )
    ).status_code == 422
    assert (
        await admin_client.post("/v1/events", json=_event(10**15, "low_balance"), headers=headers)
    ).status_code == 404


async def test_concurrent_duplicates_act_once(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.db import gather_concurrently

    op, _, cid = await _setup(sm)
    body = _event(cid, "low_balance")
    headers = tokens.admin(op, "operator")
    results = await gather_concurrently(8, lambda i: admin_client.post("/v1/events", json=body, headers=headers))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json()["event_id"] for r in results}) == 1
    async with sm() as s:
        assert await s.scalar(text("SELECT count(*) FROM recommendations WHERE customer_id = :c"), {"c": cid}) == 1


async def test_port_out_code_request_creates_todays_retention_task_despite_pressure(admin_client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    """携号转网授权码查询: a churn task due today for the manager, even over the monthly contact cap;
    without a manager, the branch's least loaded account manager gets it."""
    op, mgr, cid = await _setup(sm)
    async with sm.begin() as s:
        await create_product(s, kind="contract", monthly_fee_fen=1)
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id, reason) VALUES (:c, :m, 'engine')"),
            {"c": cid, "m": mgr},
        )
        for _ in range(4):
            await record_touch(s, customer_id=cid, channel="sms", outcome="reached")
    headers = tokens.admin(op, "operator")
    r = await admin_client.post("/v1/events", json=_event(cid, "port_out_code_request"), headers=headers)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert result["task_id"] and result["playbook"] == "port_out_code_request"
    async with sm() as s:
        task = (
            await s.execute(
                text("SELECT manager_id, kind, due_on = CAST(:today AS date) AS today FROM care_tasks WHERE id = :id"),
                {"id": result["task_id"], "today": clock.today()},
            )
        ).one()
        branch = await s.scalar(text("SELECT branch_id FROM customers WHERE id = :c"), {"c": cid})
    assert task.manager_id == mgr and task.kind == "churn" and task.today

    async with sm.begin() as s:
        lone = await create_customer(s, branch_id=branch)
    r = await admin_client.post("/v1/events", json=_event(lone.id, "port_out_code_request"), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["result"]["routed_to_branch"] is True
    async with sm() as s:
        owner = await s.scalar(
            text("SELECT manager_id FROM care_tasks WHERE id = :id"), {"id": r.json()["result"]["task_id"]}
        )
    assert owner == mgr

    async with sm.begin() as s:
        quiet = await create_customer(s, branch_id=branch, do_not_disturb=True)
    r = await admin_client.post("/v1/events", json=_event(quiet.id, "port_out_code_request"), headers=headers)
    assert r.status_code == 201 and r.json()["result"]["task_id"] is None
