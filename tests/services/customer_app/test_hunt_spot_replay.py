"""A merchant's till spot pays one play per customer: a replay, or a burst of the same scan, gets 409."""

from __future__ import annotations

from sqlalchemy import func, select, text

from shared.engagement import hunts
from shared.ledger import service as ledger
from shared.models import HuntPlay
from shared.points import service as points_service
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_customer import create_hunt
from tests.services.customer_app.conftest import assert_error, idem


async def _till_code(s, hunt_id: int) -> str:  # type: ignore[no-untyped-def]
    return await s.scalar(
        text("SELECT code FROM hunt_spots WHERE hunt_id = :h AND kind = 'merchant_code'"), {"h": hunt_id}
    )


async def test_replaying_a_till_spot_wins_nothing_twice(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        m = await create_merchant(s)
        hunt, _ = await create_hunt(
            s, merchant_id=m.id, daily_play_limit=5, prizes=[hunts.PrizeSpec("points", 10, 10, 1_000_000)]
        )
        code = await _till_code(s, hunt.id)
    h = tokens.customer(c.id)
    first = await customer_client.post(f"/v1/hunts/{hunt.id}/plays", headers=idem(h), json={"spot_code": code})
    assert first.status_code == 200 and first.json()["won"], first.text
    again = await customer_client.post(
        f"/v1/hunts/{hunt.id}/plays", headers={**idem(h), "Accept-Language": "zh-CN"}, json={"spot_code": code}
    )
    body = assert_error(again, 409)
    assert body["detail"] == "您已在该寻宝点参与过", body
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 10
        assert await s.scalar(select(func.count()).select_from(HuntPlay).where(HuntPlay.customer_id == c.id)) == 1
        report = await ledger.verify(s)
    assert report["ok"], report


async def test_a_burst_of_the_same_scan_pays_one_prize(customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        m = await create_merchant(s)
        hunt, _ = await create_hunt(
            s, merchant_id=m.id, daily_play_limit=5, prizes=[hunts.PrizeSpec("points", 10, 10, 1_000_000)]
        )
        code = await _till_code(s, hunt.id)
    h = tokens.customer(c.id)
    results = await gather_concurrently(
        12, lambda i: customer_client.post(f"/v1/hunts/{hunt.id}/plays", headers=idem(h), json={"spot_code": code})
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 11, codes
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 10
        assert await s.scalar(select(func.count()).select_from(HuntPlay).where(HuntPlay.customer_id == c.id)) == 1
        report = await ledger.verify(s)
    assert report["ok"], report
