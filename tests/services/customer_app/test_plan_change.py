"""Plan change 套餐升级/降档 (issue 14 item 3): customer app endpoint, eligibility, plan_changes feed."""

from __future__ import annotations

from sqlalchemy import select

from shared import clock
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
