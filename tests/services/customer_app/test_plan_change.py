"""Plan change 套餐升级/降档 (issue 14 item 3): customer app endpoint, eligibility, plan_changes feed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from shared import clock
from shared.business import plan_change
from shared.models import Customer, PlanChange
from tests.fixtures.factories import create_customer, create_product
from tests.services.customer_app.conftest import assert_error, idem


async def test_upgrade_now_downgrade_next_month_and_not_in_minimum_term(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        small = await create_product(s, kind="plan", name="58元套餐", monthly_fee_fen=5800)
        big = await create_product(s, kind="plan", name="128元套餐", monthly_fee_fen=12800)
        c = await create_customer(s, plan_id=small.id)
        locked = await create_product(
            s, kind="membership", monthly_fee_fen=0, eligibility={"min_term_months": 12, "early_termination": "refuse"}
        )
    h = tokens.customer(c.id)
    key = idem(h)
    r = await customer_client.post("/v1/plan-changes", headers=key, json={"plan_id": big.id})
    assert r.status_code == 201, r.text
    assert (r.json()["direction"], r.json()["immediate"]) == ("upgrade", True)
    again = await customer_client.post("/v1/plan-changes", headers=key, json={"plan_id": big.id})
    assert again.json()["id"] == r.json()["id"]
    async with sm() as s:
        assert (await s.get(Customer, c.id)).plan_id == big.id  # type: ignore[union-attr]
    down = await customer_client.post("/v1/plan-changes", headers=idem(h), json={"plan_id": small.id})
    assert down.status_code == 201, down.text
    assert down.json()["direction"] == "downgrade" and down.json()["immediate"] is False
    assert down.json()["effective_at"].startswith(clock.add_months(clock.month_start(clock.today()), 1).isoformat())
    r = await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": locked.id})
    assert r.status_code == 201, r.text
    refused = assert_error(
        await customer_client.post("/v1/plan-changes", headers=idem(h), json={"plan_id": small.id}), 409
    )
    assert refused["context"]["reasons"] == ["in_minimum_term"]
    async with sm() as s:
        rows = (await s.scalars(select(PlanChange).where(PlanChange.customer_id == c.id))).all()
    assert sorted(x.to_plan_id for x in rows) == sorted([big.id, small.id])


async def test_next_month_change_is_applied_on_the_first_not_before_and_once(customer_client, sm, tokens) -> None:
    """A downgrade asked for this month is `scheduled`; the daily job `plan_changes.apply` sets the
    plan on the 1st of next month (not on the last day of this one); a rerun changes nothing; a
    change withdrawn (or superseded by a new request) before the month starts is never applied."""
    async with sm.begin() as s:
        small = await create_product(s, kind="plan", name="38元套餐", monthly_fee_fen=3800)
        mid = await create_product(s, kind="plan", name="58元套餐", monthly_fee_fen=5800)
        big = await create_product(s, kind="plan", name="128元套餐", monthly_fee_fen=12800)
        down = await create_customer(s, plan_id=big.id)
        withdrawn = await create_customer(s, plan_id=big.id)
        changed_mind = await create_customer(s, plan_id=big.id)
        schedule = await s.scalar(text("SELECT task FROM job_schedules WHERE name = 'plan_changes.apply'"))
    assert schedule == "plan_changes.apply"
    first = clock.add_months(clock.month_start(clock.today()), 1)
    h = tokens.customer(down.id)
    r = await customer_client.post("/v1/plan-changes", headers=idem(h), json={"plan_id": small.id})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["immediate"]) == ("scheduled", False)
    hw = tokens.customer(withdrawn.id)
    w = await customer_client.post("/v1/plan-changes", headers=idem(hw), json={"plan_id": small.id})
    cancelled = await customer_client.post(f"/v1/plan-changes/{w.json()['id']}/cancel", headers=hw)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    again = await customer_client.post(f"/v1/plan-changes/{w.json()['id']}/cancel", headers=hw)
    assert again.json()["status"] == "cancelled"  # a repeat returns it
    assert_error(await customer_client.post(f"/v1/plan-changes/{w.json()['id']}/cancel", headers=h), 404)  # not theirs
    hc = tokens.customer(changed_mind.id)
    await customer_client.post("/v1/plan-changes", headers=idem(hc), json={"plan_id": small.id})
    await customer_client.post("/v1/plan-changes", headers=idem(hc), json={"plan_id": mid.id})  # supersedes

    async def plans() -> dict[int, int | None]:
        async with sm() as s:
            rows = await s.execute(
                select(Customer.id, Customer.plan_id).where(Customer.id.in_([down.id, withdrawn.id, changed_mind.id]))
            )
            return dict(rows.all())  # type: ignore[arg-type]

    await plan_change.apply_due(sm, day=first - timedelta(days=1))  # the last day of this month
    assert await plans() == {down.id: big.id, withdrawn.id: big.id, changed_mind.id: big.id}
    done = await plan_change.apply_due(sm, day=first)
    assert done["applied"] >= 2 and done["plans_changed"] >= 2
    assert await plans() == {down.id: small.id, withdrawn.id: big.id, changed_mind.id: mid.id}
    account = await customer_client.get("/v1/account", headers=h)
    assert account.json()["plan"]["id"] == small.id
    rerun = await plan_change.apply_due(sm, day=first)
    assert (rerun["applied"], rerun["plans_changed"]) == (0, 0)
    late = await plan_change.apply_due(sm, day=first + timedelta(days=3))  # a missed day catches up; nothing left
    assert late["applied"] == 0
    assert await plans() == {down.id: small.id, withdrawn.id: big.id, changed_mind.id: mid.id}
    async with sm() as s:
        statuses = sorted(
            (await s.scalars(select(PlanChange.status).where(PlanChange.customer_id == changed_mind.id))).all()
        )
    assert statuses == ["applied", "cancelled"]
    refused = assert_error(await customer_client.post(f"/v1/plan-changes/{r.json()['id']}/cancel", headers=h), 409)
    assert refused["error"] == "plan_change_effective"
