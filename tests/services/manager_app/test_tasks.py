"""Task workflow over HTTP: completion writes task + touch + order in ONE transaction, the same
Idempotency-Key replays without writing, contact pressure refuses with a reason and writes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from shared import clock
from shared.ledger import service as ledger
from shared.models import CareTask, FourHighFlag, ManagerContact, PlanChange, Subscription, Touch
from tests.fixtures import factories_manager as fm
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_product


async def _counts(sm, customer_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return {
            "touches": await s.scalar(select(func.count()).select_from(Touch).where(Touch.customer_id == customer_id)),
            "subs": await s.scalar(
                select(func.count()).select_from(Subscription).where(Subscription.customer_id == customer_id)
            ),
            "contacts": await s.scalar(
                select(func.count()).select_from(ManagerContact).where(ManagerContact.customer_id == customer_id)
            ),
            "ledger": await s.scalar(text("SELECT count(*) FROM ledger_txns")),
        }


async def test_complete_with_offer_writes_everything_once(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.a1[0]
    t = w.tasks[c.id]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "complete-offer-0001"}
    body = {
        "outcome": "accepted_offer",
        "product_id": w.product.id,
        "consent_ref": "rec-2026-0001",
        "channel": "manager_call",
        "notes": "wants more data",
        "benefits_explained": True,
        "satisfaction": 5,
        "follow_up": {"due_on": (clock.today() + timedelta(days=14)).isoformat(), "reason": "check the pack"},
    }
    assert (await manager_client.post(f"/v1/tasks/{t.id}/start", headers=h)).json()["status"] == "in_progress"
    first = await manager_client.post(f"/v1/tasks/{t.id}/complete", json=body, headers=h)
    assert first.status_code == 200, first.text
    out = first.json()
    assert out["task"]["status"] == "done" and out["subscription_id"] and out["touch_id"] and out["follow_up_task_id"]
    after_first = await _counts(sm, c.id)
    assert after_first["touches"] == 1 and after_first["subs"] == 1 and after_first["contacts"] == 1
    again = await manager_client.post(f"/v1/tasks/{t.id}/complete", json=body, headers=h)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await _counts(sm, c.id) == after_first
    async with sm() as s:
        sub = await s.get(Subscription, out["subscription_id"])
        assert sub.placed_by_staff_id == w.mgr_a1.id and sub.channel == "manager"
        touch = await s.get(Touch, out["touch_id"])
        assert (touch.task_id, touch.staff_id, touch.outcome, touch.product_id) == (
            t.id,
            w.mgr_a1.id,
            "accepted_offer",
            w.product.id,
        )
        fu = await s.get(CareTask, out["follow_up_task_id"])
        assert fu.status == "open" and fu.dedupe_key != t.dedupe_key
        assert (await ledger.verify(s))["ok"]
    # a different key on a finished task: 409, nothing written
    other = await manager_client.post(
        f"/v1/tasks/{t.id}/complete", json=body, headers={**h, "Idempotency-Key": "complete-offer-0002"}
    )
    assert other.status_code == 409
    assert await _counts(sm, c.id) == after_first


async def test_same_key_concurrently_completes_once(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.a1[0]
    t = w.tasks[c.id]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "complete-conc-0001"}
    body = {"outcome": "accepted_offer", "product_id": w.product.id, "consent_ref": "rec-2026-0002"}
    results = await gather_concurrently(
        20, lambda i: manager_client.post(f"/v1/tasks/{t.id}/complete", json=body, headers=h)
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 20, statuses
    assert len({r.content for r in results}) == 1
    counts = await _counts(sm, c.id)
    assert counts["touches"] == 1 and counts["subs"] == 1 and counts["contacts"] == 1


async def test_failed_order_rolls_back_task_and_touch(manager_client, sm, tokens) -> None:
    """An order the customer cannot pay for (402) leaves the task open and writes no touch."""
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
        pricey = await create_product(s, monthly_fee_fen=10_000_000)
    c = w.a1[0]
    t = w.tasks[c.id]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "complete-poor-0001"}
    resp = await manager_client.post(
        f"/v1/tasks/{t.id}/complete",
        json={"outcome": "accepted_offer", "product_id": pricey.id, "consent_ref": "rec-x-1"},
        headers=h,
    )
    assert resp.status_code == 402, resp.text
    counts = await _counts(sm, c.id)
    assert counts["touches"] == 0 and counts["subs"] == 0 and counts["contacts"] == 0
    async with sm() as s:
        assert (await s.get(CareTask, t.id)).status == "open"


async def test_contact_pressure_refuses_with_reason(manager_client, sm, tokens) -> None:
    from shared.models import Customer

    async with sm.begin() as s:
        w = await fm.world(s, per_manager=2)
        (await s.get(Customer, w.a1[1].id)).do_not_disturb = True
        for _ in range(4):  # the monthly cap (default 4) is used up for a1[0]
            s.add(Touch(customer_id=w.a1[0].id, channel="sms", outcome="reached"))
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    for c, reason in ((w.a1[0], "monthly_cap"), (w.a1[1], "do_not_disturb")):
        preview = (await manager_client.get(f"/v1/customers/{c.id}", headers=h)).json()["contact_pressure"]
        assert (preview["outbound_allowed"], preview["reason"]) == (False, reason)  # the portrait agrees
        before = await _counts(sm, c.id)
        resp = await manager_client.post(
            f"/v1/tasks/{w.tasks[c.id].id}/complete",
            json={"outcome": "reached"},
            headers={**h, "Idempotency-Key": f"pressure-{c.id}-x"},
        )
        assert resp.status_code == 409, resp.text
        assert resp.json()["context"]["reason"] == reason
        assert await _counts(sm, c.id) == before
        async with sm() as s:
            assert (await s.get(CareTask, w.tasks[c.id].id)).status == "open"


async def test_offer_needs_consent(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.a1[0]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "no-consent-0001"}
    r1 = await manager_client.post(
        f"/v1/tasks/{w.tasks[c.id].id}/complete",
        json={"outcome": "accepted_offer", "product_id": w.product.id},
        headers=h,
    )
    r2 = await manager_client.post(f"/v1/customers/{c.id}/orders", json={"product_id": w.product.id}, headers=h)
    assert r1.status_code == 422 and r2.status_code == 422
    ok = await manager_client.post(
        f"/v1/customers/{c.id}/orders",
        json={"product_id": w.product.id, "consent_ref": "signed-form-77"},
        headers={**h, "Idempotency-Key": "with-consent-0001"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["subscription_id"]


async def test_four_high_completion_marks_cared(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
        c = w.a1[0]
        period = clock.month_start(clock.today())
        s.add(FourHighFlag(customer_id=c.id, kind="payg_data", period=period, value=1.0))
        t = await fm.task(
            s, c.id, w.mgr_a1.id, kind="four_high", dedupe_key=f"four_high:{c.id}:payg_data:{period.isoformat()[:7]}"
        )
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "fourhigh-0001"}
    resp = await manager_client.post(f"/v1/tasks/{t.id}/complete", json={"outcome": "reached"}, headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.json()["four_high_marked_cared"] is True
    async with sm() as s:
        flag = await s.get(FourHighFlag, (c.id, "payg_data", period))
        assert flag.cared_at is not None


async def test_task_views_and_reassignment(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=2)
        c = w.a1[0]
        late = await fm.task(s, c.id, w.mgr_a1.id, due_on=clock.today() - timedelta(days=3))
        soon = await fm.task(s, c.id, w.mgr_a1.id, due_on=clock.today() + timedelta(days=3))
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    today = (await manager_client.get("/v1/tasks", params={"view": "today"}, headers=h)).json()["items"]
    assert {t["id"] for t in today} == {w.tasks[x.id].id for x in w.a1}
    assert [
        t["id"] for t in (await manager_client.get("/v1/tasks", params={"view": "overdue"}, headers=h)).json()["items"]
    ] == [late.id]
    assert [
        t["id"] for t in (await manager_client.get("/v1/tasks", params={"view": "upcoming"}, headers=h)).json()["items"]
    ] == [soon.id]
    assert all("****" in t["customer"]["phone"] for t in today)
    # reassignment: request by the manager, approval by the head moves the customer and tasks
    r = await manager_client.post(
        f"/v1/customers/{c.id}/reassignment-requests", json={"reason": "customer moved"}, headers=h
    )
    assert r.status_code == 201, r.text
    dup = await manager_client.post(f"/v1/customers/{c.id}/reassignment-requests", json={"reason": "again"}, headers=h)
    assert dup.status_code == 409
    head = tokens.manager(w.head_a.id, "branch_head", w.branch_a)
    assert (
        await manager_client.post(
            f"/v1/reassignment-requests/{r.json()['id']}/decision",
            json={"approve": True, "to_manager_id": w.mgr_b1.id},
            headers=head,
        )
    ).status_code == 404
    d = await manager_client.post(
        f"/v1/reassignment-requests/{r.json()['id']}/decision",
        json={"approve": True, "to_manager_id": w.mgr_a2.id},
        headers=head,
    )
    assert d.status_code == 200 and d.json()["status"] == "approved"
    assert (await manager_client.get(f"/v1/customers/{c.id}", headers=h)).status_code == 404
    h2 = tokens.manager(w.mgr_a2.id, "account_manager", w.branch_a)
    assert (await manager_client.get(f"/v1/customers/{c.id}", headers=h2)).status_code == 200
    async with sm() as s:
        moved = (
            await s.scalars(select(CareTask.manager_id).where(CareTask.customer_id == c.id, CareTask.status == "open"))
        ).all()
        assert set(moved) == {w.mgr_a2.id}
        hist = (
            await s.execute(
                text("SELECT from_manager_id, to_manager_id FROM assignment_history WHERE customer_id = :c"),
                {"c": c.id},
            )
        ).all()
        assert [tuple(x) for x in hist] == [(w.mgr_a1.id, w.mgr_a2.id)]


async def test_completion_can_ask_for_reassignment(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.a1[0]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "complete-reassign-01"}
    r = await manager_client.post(
        f"/v1/tasks/{w.tasks[c.id].id}/complete",
        json={"outcome": "reached", "reassignment_reason": "customer moved to branch B"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    req_id = r.json()["reassignment_request_id"]
    head = tokens.manager(w.head_a.id, "branch_head", w.branch_a)
    pending = (await manager_client.get("/v1/reassignment-requests", params={"status": "pending"}, headers=head)).json()
    assert req_id in {p["id"] for p in pending}


async def test_manager_changes_the_plan_with_consent(manager_client, sm, tokens) -> None:
    """The four-high ARPU remedy (套餐优化) is a plan: it used to be refused as not orderable."""
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
        plan = await create_product(s, kind="plan", name="38元套餐", monthly_fee_fen=3800)
    c = w.a1[0]
    h = {**tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), "Idempotency-Key": "plan-change-0001"}
    ok = await manager_client.post(
        f"/v1/customers/{c.id}/orders", json={"product_id": plan.id, "consent_ref": "call-rec-9"}, headers=h
    )
    assert ok.status_code == 201, ok.text
    async with sm() as s:
        change = await s.scalar(select(PlanChange).where(PlanChange.customer_id == c.id))
        contact = await s.scalar(select(ManagerContact).where(ManagerContact.customer_id == c.id))
    assert change is not None and change.to_plan_id == plan.id and change.channel == "manager"
    assert contact is not None and contact.consent_ref == "call-rec-9"
