"""The "Done when" concurrency checks, with real concurrent requests through the ASGI app."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text

from shared.engagement import hunts
from shared.ledger import service as ledger
from shared.models import HuntPlay, HuntPrize, LedgerTxn
from shared.points import service as points_service
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_customer import create_customers_bulk, create_hunt, give_points
from tests.services.customer_app.conftest import idem


async def _verify(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s:
        report = await ledger.verify(s)
    assert report["ok"], report


async def test_200_simultaneous_checkins_credit_once(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    h = tokens.customer(c.id)
    results = await gather_concurrently(200, lambda i: customer_client.post("/v1/checkin", headers=idem(h)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1 and codes.count(409) == 199, codes[-5:]
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 5
        assert (
            await s.scalar(
                select(func.count()).select_from(LedgerTxn).where(LedgerTxn.idempotency_key.like(f"checkin:{c.id}:%"))
            )
            == 1
        )
    await _verify(sm)


async def test_same_key_checkin_replays_byte_identical(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    h = idem(tokens.customer(c.id), "same-key-0001")
    results = await gather_concurrently(30, lambda i: customer_client.post("/v1/checkin", headers=h))
    assert {r.status_code for r in results} == {200}
    assert len({r.content for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 29
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 5
    await _verify(sm)


async def test_500_plays_against_50_prizes_award_exactly_50(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        ids = await create_customers_bulk(s, 250)
        hunt, code = await create_hunt(s, daily_play_limit=2, prizes=[hunts.PrizeSpec("points", 7, 50, 1_000_000)])
        prize_id = await s.scalar(select(HuntPrize.id).where(HuntPrize.hunt_id == hunt.id))
    heads = [tokens.customer(i) for i in ids]
    results = await gather_concurrently(
        500,
        lambda i: customer_client.post(
            f"/v1/hunts/{hunt.id}/plays", headers=idem(heads[i % 250]), json={"spot_code": code}
        ),
    )
    assert {r.status_code for r in results} == {200}, [r.text for r in results if r.status_code != 200][:3]
    assert sum(r.json()["won"] for r in results) == 50
    async with sm() as s:
        assert await s.scalar(select(HuntPrize.remaining).where(HuntPrize.id == prize_id)) == 0
        assert await s.scalar(select(func.count()).select_from(HuntPlay).where(HuntPlay.hunt_id == hunt.id)) == 500
        assert await ledger.balance_of(s, asset="points", kind="prize_pool", owner_id=prize_id) == 0
        won = await s.scalar(
            text(
                "SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE asset = 'points' "
                "AND kind = 'customer' AND owner_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        assert won == 50 * 7
    await _verify(sm)


async def test_100_spends_against_balance_for_10(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        await give_points(s, c.id, 100, earned_on=date.today())
    h = tokens.customer(c.id)
    results = await gather_concurrently(
        100, lambda i: customer_client.post("/v1/points/redeem-airtime", headers=idem(h), json={"points": 10})
    )
    codes = [r.status_code for r in results]
    assert codes.count(200) == 10 and codes.count(402) == 90, sorted(set(codes))
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 0
        assert await ledger.balance_of(s, asset="airtime_fen", kind="customer", owner_id=c.id) == 100
    await _verify(sm)


async def test_replays_of_every_write_move_nothing(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        await give_points(s, c.id, 50, earned_on=date.today())
        hunt, code = await create_hunt(s, daily_play_limit=5, prizes=[hunts.PrizeSpec("points", 3, 10, 1_000_000)])
    h = tokens.customer(c.id)
    calls = [
        ("/v1/points/redeem-airtime", {"points": 20}),
        (f"/v1/hunts/{hunt.id}/plays", {"spot_code": code}),
    ]
    for path, body in calls:
        headers = idem(h)
        first = await customer_client.post(path, headers=headers, json=body)
        assert first.status_code == 200, first.text
        async with sm() as s:
            before = (
                await s.scalar(select(func.count()).select_from(LedgerTxn)),
                await points_service.balance(s, c.id),
            )
        again = await customer_client.post(path, headers=headers, json=body)
        assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        async with sm() as s:
            after = (await s.scalar(select(func.count()).select_from(LedgerTxn)), await points_service.balance(s, c.id))
        assert before == after
        other = await customer_client.post(
            path, headers=headers, json={**body, "points": 1} if "points" in body else {"spot_code": code + "x"}
        )
        assert other.status_code in (409, 422) and set(other.json()) == {"error", "detail", "context"}
    await _verify(sm)
