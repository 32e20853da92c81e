"""Arrears shown as a negative balance, top-ups paying them first, and gifted packs (issue 14 items 4–5)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from shared.alliance import packs
from shared.ledger import service as ledger
from shared.models import Asset
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_pack
from tests.fixtures.factories_customer import create_usage
from tests.services.customer_app.conftest import assert_error, idem

MONTH = date(2026, 2, 1)


async def _verified(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s:
        report = await ledger.verify(s)
    assert report["ok"], {k: v for k, v in report.items() if v and k != "assets"}


async def test_arrears_show_negative_and_a_topup_pays_them_first(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        await s.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
        c = await create_customer(s)
        await create_usage(s, c.id, MONTH, balance_end_fen=-6455)
    h = tokens.customer(c.id)
    assert (await customer_client.get("/v1/account", headers=h)).json()["balance_fen"] == -6455
    key = idem(h)
    r = await customer_client.post("/v1/topups", headers=key, json={"amount_fen": 5000})
    assert r.status_code == 201, r.text
    assert (r.json()["to_arrears_fen"], r.json()["to_balance_fen"], r.json()["balance_fen"]) == (5000, 0, -1455)
    replay = await customer_client.post("/v1/topups", headers=key, json={"amount_fen": 5000})
    assert replay.json() == r.json()  # the same key tops up once
    r = await customer_client.post("/v1/topups", headers=idem(h), json={"amount_fen": 10000})
    assert (r.json()["to_arrears_fen"], r.json()["to_balance_fen"], r.json()["balance_fen"]) == (1455, 8545, 8545)
    assert (await customer_client.get("/v1/account", headers=h)).json()["balance_fen"] == 8545
    assert (await customer_client.get("/v1/gifts", headers=h)).json()["arrears_fen"] == 0
    bad = assert_error(await customer_client.post("/v1/topups", headers=idem(h), json={"amount_fen": "100"}), 422)
    assert bad["error"]
    # a top-up of nothing is a bad request, not a zero ledger leg (it answered 500)
    zero = assert_error(await customer_client.post("/v1/topups", headers=idem(h), json={"amount_fen": 0}), 422)
    assert zero["error"] == "validation_error"
    assert (await customer_client.get("/v1/account", headers=h)).json()["balance_fen"] == 8545
    await _verified(sm)


async def test_gifted_packs_are_visible_to_the_subscriber(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        c = await create_customer(s)
        pack = await create_pack(s, asset=Asset.DATA, amount=1024, price_fen=500)
        await packs.fund_budget(s, asset=Asset.DATA, amount=10_000, key=f"b-{m.id}", actor="test")
        await packs.topup_merchant(s, merchant_id=m.id, amount_fen=800, key=f"t-{m.id}", actor="test")
        await packs.gift_pack(s, merchant_id=m.id, pack_id=pack.id, phone=c.phone, request_key=f"g-{c.id}")
    body = (await customer_client.get("/v1/gifts", headers=tokens.customer(c.id))).json()
    assert body["data_mb_balance"] == 1024
    [gift] = body["gifts"]
    assert (gift["asset"], gift["amount"], gift["merchant_name"]) == ("data_mb", 1024, m.name)
    await _verified(sm)
