"""Merchant till spots: the merchant's signed QR payloads (:8003 `/v1/me/spots`), one play per
customer (a replay, or a burst of the same scan, gets 409 and pays nothing twice), and every bad
code a 4xx in the error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from shared.engagement import hunts, spot_codes
from shared.errors import Unprocessable
from shared.ledger import service as ledger
from shared.models import HuntPlay, HuntSpot, HuntSpotClaim, Merchant, MerchantStore
from shared.points import service as points_service
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer, create_merchant, create_staff
from tests.services.customer_app.conftest import assert_error, idem

ZH = {"Accept-Language": "zh-CN"}


async def _till_hunt(s, merchant_id: int, *, store_id: int | None = None, **overrides):  # type: ignore[no-untyped-def]
    """An active hunt with an in-app spot and one till spot at the merchant; a points prize that always wins."""
    now = datetime.now(UTC)
    values: dict = {
        "name": "Till hunt",
        "description": None,
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=7),
        "daily_play_limit": 5,
        "spots": [
            hunts.SpotSpec(kind="app_page", clue="On the offers page"),
            hunts.SpotSpec(kind="merchant_code", clue="At the till", merchant_id=merchant_id, store_id=store_id),
        ],
        "prizes": [hunts.PrizeSpec("points", 10, 10, 1_000_000)],
        "actor": "test",
    }
    values.update(overrides)
    hunt = await hunts.create_hunt(s, **values)
    spot = await s.scalar(select(HuntSpot).where(HuntSpot.hunt_id == hunt.id, HuntSpot.kind == "merchant_code"))
    return hunt, spot


async def _app_code(sm, hunt_id: int) -> str:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return await s.scalar(select(HuntSpot.code).where(HuntSpot.hunt_id == hunt_id, HuntSpot.kind == "app_page"))


async def _payload(alliance_client, tokens, merchant_id: int, spot_id: int) -> str:  # type: ignore[no-untyped-def]
    r = await alliance_client.get(f"/v1/me/spots/{spot_id}", headers=tokens.merchant(merchant_id))
    assert r.status_code == 200, r.text
    return r.json()["qr_payload"]


async def _verified(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s:
        report = await ledger.verify(s)
    assert report["ok"], report


async def _plays(sm, customer_id: int) -> int:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return await s.scalar(select(func.count()).select_from(HuntPlay).where(HuntPlay.customer_id == customer_id))


async def test_merchant_lists_only_its_own_stores_spots(alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        a = await create_merchant(s)
        b = await create_merchant(s)
        store = MerchantStore(merchant_id=a.id, name="徐汇店", address="上海市徐汇区")
        s.add(store)
        await s.flush()
        hunt, spot = await _till_hunt(s, a.id, store_id=store.id)
        closed, _ = await _till_hunt(s, a.id, name="Closed hunt")
        await hunts.close_hunt(s, hunt_id=closed.id, actor="test")
    mine = await alliance_client.get("/v1/me/spots", headers=tokens.merchant(a.id))
    assert mine.status_code == 200, mine.text
    [row] = mine.json()  # the closed hunt's spot and the in-app spot are not listed
    assert row["spot_id"] == spot.id and row["hunt_id"] == hunt.id and row["hunt_name"] == "Till hunt"
    assert (row["store_id"], row["store_name"], row["players"]) == (store.id, "徐汇店", 0)
    assert datetime.fromisoformat(row["ends_at"]) == hunt.ends_at
    assert row["qr_payload"].startswith("TENURE-SPOT:")
    assert spot.code not in row["qr_payload"]
    token = spot_codes.verify(row["qr_payload"])
    assert token is not None and (token.hunt_id, token.spot_id, token.expires_at) == (
        hunt.id,
        spot.id,
        hunt.ends_at.replace(microsecond=0),  # whole seconds, never later than the hunt's end
    )
    assert (await alliance_client.get(f"/v1/me/spots/{spot.id}", headers=tokens.merchant(a.id))).json() == row
    # another merchant sees none of them
    assert (await alliance_client.get("/v1/me/spots", headers=tokens.merchant(b.id))).json() == []
    other = await alliance_client.get(f"/v1/me/spots/{spot.id}", headers=tokens.merchant(b.id))
    assert_error(other, 404)


async def test_store_of_another_merchant_is_refused(sm) -> None:
    async with sm() as s:
        a = await create_merchant(s)
        b = await create_merchant(s)
        store = MerchantStore(merchant_id=b.id, name="Other", address="Elsewhere")
        s.add(store)
        await s.flush()
        with pytest.raises(Unprocessable, match=f"store {store.id} is not one"):
            await _till_hunt(s, a.id, store_id=store.id)
        await s.rollback()


async def test_replaying_a_till_spot_wins_nothing_twice(customer_client, alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        other = await create_customer(s)
        m = await create_merchant(s)
        hunt, spot = await _till_hunt(s, m.id)
    code = await _payload(alliance_client, tokens, m.id, spot.id)
    h = tokens.customer(c.id)
    url = f"/v1/hunts/{hunt.id}/plays"
    first = await customer_client.post(url, headers=idem(h), json={"spot_code": code})
    assert first.status_code == 200 and first.json()["won"], first.text
    again = await customer_client.post(url, headers={**idem(h), **ZH}, json={"spot_code": code})
    body = assert_error(again, 409)
    assert body["detail"] == "您已在该寻宝点参与过" and body["context"] == {"spot_id": spot.id}, body
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 10
    assert await _plays(sm, c.id) == 1
    # the same key replays the first play byte for byte (not a 409)
    key = idem(h)
    replayed = [await customer_client.post(url, headers=key, json={"spot_code": code}) for _ in range(2)]
    assert replayed[0].status_code == 409 and replayed[1].content == replayed[0].content
    # another customer still plays it; the in-app spot stays playable within the daily limit
    r = await customer_client.post(url, headers=idem(tokens.customer(other.id)), json={"spot_code": code})
    assert r.status_code == 200, r.text
    app_code = await _app_code(sm, hunt.id)
    for _ in range(2):
        r = await customer_client.post(url, headers=idem(h), json={"spot_code": app_code})
        assert r.status_code == 200, r.text
    listed = await alliance_client.get(f"/v1/me/spots/{spot.id}", headers=tokens.merchant(m.id))
    assert listed.json()["players"] == 2
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 30
        assert (
            await s.scalar(select(func.count()).select_from(HuntSpotClaim).where(HuntSpotClaim.spot_id == spot.id)) == 2
        )
    await _verified(sm)


async def test_a_burst_of_the_same_scan_pays_one_prize(customer_client, alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        m = await create_merchant(s)
        hunt, spot = await _till_hunt(s, m.id)
    code = await _payload(alliance_client, tokens, m.id, spot.id)
    h = tokens.customer(c.id)
    results = await gather_concurrently(
        12, lambda i: customer_client.post(f"/v1/hunts/{hunt.id}/plays", headers=idem(h), json={"spot_code": code})
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 11, codes
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 10
    assert await _plays(sm, c.id) == 1
    await _verified(sm)


async def test_bad_till_codes_are_4xx_and_move_nothing(customer_client, alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
        m = await create_merchant(s)
        hunt, spot = await _till_hunt(s, m.id)
        other_hunt, other_spot = await _till_hunt(s, m.id, name="Other hunt")
        suspended = await create_merchant(s)
        _, inactive_spot = await _till_hunt(s, suspended.id, name="Suspended merchant's hunt")
    code = await _payload(alliance_client, tokens, m.id, spot.id)
    other_code = await _payload(alliance_client, tokens, m.id, other_spot.id)
    inactive_code = spot_codes.sign(hunt_id=inactive_spot.hunt_id, spot_id=inactive_spot.id, expires_at=hunt.ends_at)
    async with sm.begin() as s:
        await s.execute(update(Merchant).where(Merchant.id == suspended.id).values(status="suspended"))
    raw = code[len(spot_codes.PREFIX) :]
    flipped = raw[:30] + ("A" if raw[30] != "A" else "B") + raw[31:]  # a byte of the signature
    padded = raw[:-1] + ("A" if raw[-1] != "A" else "B")  # only the unused bits of the last symbol
    past = datetime.now(UTC) - timedelta(minutes=1)
    cases = [
        (spot.code, 404),  # the bare code of a till spot does not play it
        (spot_codes.PREFIX + flipped, 404),  # forged signature
        (spot_codes.PREFIX + padded, 404),  # another spelling of the same bytes
        (spot_codes.PREFIX + raw[:20], 404),  # truncated
        (spot_codes.PREFIX + "A" * 60, 404),  # garbage of the right alphabet
        (spot_codes.PREFIX + "-_-_", 404),
        (spot_codes.sign(hunt_id=hunt.id, spot_id=spot.id, expires_at=hunt.ends_at, secret="x" * 40), 404),
        (spot_codes.sign(hunt_id=hunt.id, spot_id=spot.id, expires_at=past), 410),  # expired
        (spot_codes.sign(hunt_id=hunt.id, spot_id=other_spot.id, expires_at=hunt.ends_at), 404),  # spot elsewhere
        (spot_codes.sign(hunt_id=hunt.id, spot_id=2_000_000_000, expires_at=hunt.ends_at), 404),
        (other_code, 422),  # another hunt's code
    ]
    h = tokens.customer(c.id)
    for bad, status in cases:
        r = await customer_client.post(f"/v1/hunts/{hunt.id}/plays", headers={**idem(h), **ZH}, json={"spot_code": bad})
        body = assert_error(r, status)
        assert body["detail"], (bad, body)
    r = await customer_client.post(
        f"/v1/hunts/{inactive_spot.hunt_id}/plays", headers=idem(h), json={"spot_code": inactive_code}
    )
    assert_error(r, 410)
    assert await _plays(sm, c.id) == 0
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 0
        assert (
            await s.scalar(select(func.count()).select_from(HuntSpotClaim).where(HuntSpotClaim.customer_id == c.id))
            == 0
        )
    # the genuine code still plays after all that
    r = await customer_client.post(f"/v1/hunts/{hunt.id}/plays", headers=idem(h), json={"spot_code": code})
    assert r.status_code == 200, r.text
    assert other_hunt.id != hunt.id
    await _verified(sm)


async def test_back_office_places_a_till_spot_in_a_store(admin_client, alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        op = await create_staff(s, role="operator")
        a = await create_merchant(s)
        b = await create_merchant(s)
        store = MerchantStore(merchant_id=a.id, name="Lakeside", address="8 Lake Road")
        foreign = MerchantStore(merchant_id=b.id, name="Hillside", address="9 Hill Road")
        s.add_all([store, foreign])
        await s.flush()
    now = datetime.now(UTC)
    base = {"name": "Store hunt", "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=2)).isoformat()}
    h = tokens.admin(op.id, "operator")
    spot = {"kind": "merchant_code", "merchant_id": a.id, "store_id": store.id}
    r = await admin_client.post("/v1/hunts", headers=idem(h), json={**base, "spots": [spot]})
    assert r.status_code == 201, r.text
    [made] = r.json()["spots"]
    assert made["store_id"] == store.id and made["qr_payload"].startswith(spot_codes.PREFIX)
    [listed] = (await alliance_client.get("/v1/me/spots", headers=tokens.merchant(a.id))).json()
    assert (listed["spot_id"], listed["store_name"], listed["qr_payload"]) == (
        made["id"],
        "Lakeside",
        made["qr_payload"],
    )
    for bad, status in [
        ({**spot, "store_id": foreign.id}, 422),  # another merchant's store
        ({"kind": "app_page", "store_id": store.id}, 422),  # an in-app spot is in no store
    ]:
        r = await admin_client.post("/v1/hunts", headers=idem(h), json={**base, "spots": [bad]})
        assert_error(r, status)
