"""Deposit-and-rebate contracts and recharge bonuses (issue 14 items 1–2), through the customer app."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text

from shared import clock
from shared.business import contracts
from shared.ledger import service as ledger
from shared.models import LedgerTxn
from shared.notify.sms import DevSmsSender
from tests.fixtures.factories import create_customer, create_product
from tests.fixtures.factories_customer import create_usage
from tests.services.customer_app.conftest import assert_error, idem

MONTH = date(2026, 2, 1)


async def _customer(s, balance_fen: int = 40000):  # type: ignore[no-untyped-def]
    await s.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
    c = await create_customer(s)
    await create_usage(s, c.id, MONTH, balance_end_fen=balance_fen)
    return c


async def _balance(client, h) -> int:  # type: ignore[no-untyped-def]
    return int((await client.get("/v1/account", headers=h)).json()["balance_fen"])


async def test_recharge_bonus_pays_its_schedule_once_per_month(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
        bonus = await create_product(
            s,
            kind="recharge_bonus",
            name="充100送60",
            monthly_fee_fen=0,
            one_time_fee_fen=10000,
            eligibility={"rebate": {"months": 6, "total_fen": 6000}},
        )
    h = tokens.customer(c.id)
    r = await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": bonus.id})
    assert r.status_code == 201, r.text
    assert await _balance(customer_client, h) == 30000
    [contract] = (await customer_client.get("/v1/contracts", headers=h)).json()
    assert contract["instalments"] == 6 and contract["remaining_fen"] == 6000 and contract["paid_count"] == 0
    first = date.fromisoformat(contract["next"]["due_month"])
    assert first == clock.add_months(clock.month_start(clock.today()), 1)

    sender = DevSmsSender()
    done = await contracts.post_due(sm, month=first, sender=sender)
    assert done["posted"] >= 1 and done["fen"] >= 1000
    await contracts.post_due(sm, month=first, sender=sender)  # a second run posts nothing of ours
    assert await _balance(customer_client, h) == 31000
    assert sum(1 for to, _ in sender.outbox if to == c.phone) == 1
    assert "10.00" in next(t for to, t in sender.outbox if to == c.phone)
    async with sm() as s:
        keys = await s.scalar(
            select(func.count())
            .select_from(LedgerTxn)
            .where(LedgerTxn.idempotency_key.like(f"rebate:{r.json()['id']}:%"))
        )
    assert keys == 1
    [contract] = (await customer_client.get("/v1/contracts", headers=h)).json()
    assert (contract["paid_count"], contract["paid_fen"], contract["remaining_fen"]) == (1, 1000, 5000)
    assert contract["next"]["seq"] == 2

    await contracts.post_due(sm, month=clock.add_months(first, 10), sender=sender)  # catches up, no more
    [contract] = (await customer_client.get("/v1/contracts", headers=h)).json()
    assert (contract["paid_fen"], contract["remaining_count"]) == (6000, 0)
    assert await _balance(customer_client, h) == 36000
    async with sm() as s:
        report = await ledger.verify(s)
        assert report["ok"], {k: v for k, v in report.items() if v and k != "assets"}


async def test_deposit_contract_percent_and_cancel_forfeits(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s)
        deposit = await create_product(
            s,
            kind="recharge_bonus",
            name="存300返45%",
            monthly_fee_fen=0,
            one_time_fee_fen=30000,
            eligibility={"rebate": {"months": 12, "percent": 45}, "cancel_policy": "forfeit"},
        )
    h = tokens.customer(c.id)
    r = await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": deposit.id})
    assert r.status_code == 201, r.text
    [contract] = (await customer_client.get("/v1/contracts", headers=h)).json()
    assert contract["remaining_fen"] == 13500 and sum(i["amount_fen"] for i in contract["schedule"]) == 13500
    first = date.fromisoformat(contract["next"]["due_month"])
    await contracts.post_due(sm, month=first, sender=DevSmsSender())
    r = await customer_client.post(f"/v1/subscriptions/{r.json()['id']}/cancel", headers=idem(h))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    [contract] = (await customer_client.get("/v1/contracts", headers=h)).json()
    assert contract["paid_fen"] == 1125 and contract["remaining_fen"] == 0 and contract["forfeited_fen"] == 13500 - 1125
    before = await _balance(customer_client, h)
    await contracts.post_due(sm, month=clock.add_months(first, 3), sender=DevSmsSender())
    assert await _balance(customer_client, h) == before
    async with sm() as s:
        report = await ledger.verify(s)
        assert report["ok"], {k: v for k, v in report.items() if v and k != "assets"}


async def test_minimum_term_refuses_or_charges_early_termination(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await _customer(s, balance_fen=5000)
        locked = await create_product(
            s,
            kind="membership",
            monthly_fee_fen=1000,
            eligibility={"min_term_months": 12, "early_termination": "refuse"},
        )
        fee = await create_product(
            s,
            kind="membership",
            monthly_fee_fen=1000,
            eligibility={"min_term_months": 12, "early_termination": "fee", "early_termination_fee_fen": 3000},
        )
        steep = await create_product(
            s,
            kind="membership",
            monthly_fee_fen=0,
            eligibility={"min_term_months": 12, "early_termination": "fee", "early_termination_fee_fen": 99999},
        )
    h = tokens.customer(c.id)
    subs = []
    for p in (locked, fee, steep):
        r = await customer_client.post("/v1/orders", headers=idem(h), json={"product_id": p.id})
        assert r.status_code == 201, r.text
        subs.append(r.json()["id"])
    refused = assert_error(await customer_client.post(f"/v1/subscriptions/{subs[0]}/cancel", headers=idem(h)), 409)
    assert refused["error"] == "minimum_term" and refused["context"]["reason"] == "minimum_term"
    assert await _balance(customer_client, h) == 3000
    r = await customer_client.post(f"/v1/subscriptions/{subs[1]}/cancel", headers=idem(h))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await _balance(customer_client, h) == 0
    short = assert_error(await customer_client.post(f"/v1/subscriptions/{subs[2]}/cancel", headers=idem(h)), 402)
    assert short["context"]["fee_fen"] == 99999
    active = {x["id"] for x in (await customer_client.get("/v1/subscriptions", headers=h)).json()}
    assert subs[0] in active and subs[2] in active and subs[1] not in active
    async with sm() as s:
        report = await ledger.verify(s)
        assert report["ok"], {k: v for k, v in report.items() if v and k != "assets"}
