"""My customers over HTTP: filters, search, keyset pages, the portrait; masked phones only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text

from shared import clock
from shared.models import Customer, CustomerProfile, CustomerTagSet, TagDefinition, Touch
from tests.fixtures import factories_manager as fm


async def _ids(client, headers, **params) -> list[int]:  # type: ignore[no-untyped-def]
    out, cursor = [], None
    while True:
        q = {**params, "limit": 2}
        if cursor:
            q["cursor"] = cursor
        r = await client.get("/v1/customers", params=q, headers=headers)
        assert r.status_code == 200, r.text
        out += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


async def test_filters_search_and_priority(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=6)
        a = w.a1
        tag = TagDefinition(code=f"t_{a[0].id}", name="video lover", family="preference", rule={})
        s.add(tag)
        await s.flush()
        s.add(CustomerTagSet(customer_id=a[1].id, tag_ids=[tag.id]))
        (await s.get(CustomerProfile, a[2].id)).four_high = ["payg_data"]
        (await s.get(CustomerProfile, a[3].id)).lifecycle_stage = "decline"
        (await s.get(Customer, a[4].id)).birthday = date(1990, clock.today().month, 1)
        (await s.get(Customer, a[0].id)).birthday = date(1990, clock.today().month % 12 + 1, 1)
        for c in a:
            if c.id != a[5].id:
                s.add(Touch(customer_id=c.id, channel="sms", outcome="reached"))
        s.add(
            Touch(
                customer_id=a[5].id,
                channel="sms",
                outcome="reached",
                occurred_at=datetime.now(clock.TZ) - timedelta(days=40),
            )
        )
        await fm.task(s, a[5].id, w.mgr_a1.id, due_on=clock.today() - timedelta(days=2))
        # another branch's customer with the same tag, four-high and name must never appear
        (await s.get(CustomerProfile, w.b1[0].id)).four_high = ["payg_data"]
        s.add(CustomerTagSet(customer_id=w.b1[0].id, tag_ids=[tag.id]))
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    assert await _ids(manager_client, h, tag=f"t_{a[0].id}") == [a[1].id]
    assert await _ids(manager_client, h, four_high="payg_data") == [a[2].id]
    assert await _ids(manager_client, h, four_high="any") == [a[2].id]
    assert await _ids(manager_client, h, stage="decline") == [a[3].id]
    assert await _ids(manager_client, h, birthday_this_month="true") == [a[4].id]
    assert await _ids(manager_client, h, min_days_since_contact=30) == [a[5].id]
    assert set(await _ids(manager_client, h, risk="high")) == {c.id for i, c in enumerate(a) if i % 3 == 0}
    assert set(await _ids(manager_client, h, tier="gold")) == {c.id for i, c in enumerate(a) if i % 2 == 0}
    assert await _ids(manager_client, h, q=a[3].phone[-4:]) == [a[3].id]
    assert await _ids(manager_client, h, q=a[3].phone[-7:]) == [a[3].id]
    assert set(await _ids(manager_client, h, q="张")) == {c.id for c in a}
    assert await _ids(manager_client, h, q=w.b1[0].phone[-4:]) == []
    # priority: the customer with an overdue task and the high churn x value come first
    page = (await manager_client.get("/v1/customers", headers=h)).json()["items"]
    prios = [i["priority"] for i in page]
    assert prios == sorted(prios, reverse=True)
    assert page[0]["id"] == a[5].id and page[0]["overdue_tasks"] == 1
    assert all("****" in i["phone"] for i in page)
    bad = await manager_client.get("/v1/customers", params={"cursor": "not-a-cursor"}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_cursor"
    assert (await manager_client.get("/v1/customers", params={"limit": 100000}, headers=h)).status_code == 422


async def test_portrait_contents_masked(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
        c = w.a1[0]
        await s.execute(
            text(
                'UPDATE customer_profiles SET top_factors = \'[{"factor": "competitor_calls", "value": 3, "weight": 0.4}]\', '
                "segment = 'potential_loss', sub_segment = 'network' WHERE customer_id = :c"
            ),
            {"c": c.id},
        )
        tag = TagDefinition(code=f"stab_{c.id}", name="network complaints", family="stability", rule={})
        s.add(tag)
        await s.flush()
        s.add(CustomerTagSet(customer_id=c.id, tag_ids=[tag.id]))
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    r = await manager_client.get(f"/v1/customers/{c.id}", headers=h)
    assert r.status_code == 200, r.text
    p = r.json()
    assert c.phone not in r.text and c.id_number not in r.text and "id_number" not in p
    assert p["phone"].count("*") == 4 and p["name"].startswith("张")
    assert p["churn_warning"]["top_factors"][0]["factor"] == "competitor_calls"
    assert p["tags"] == {"stability": [{"code": f"stab_{c.id}", "name": "network complaints"}]}
    assert p["stability_segment"] == {"segment": "potential_loss", "sub_segment": "network"}
    assert len(p["usage_trend"]) == 1 and p["open_tasks"][0]["id"] == w.tasks[c.id].id
    assert p["contact_pressure"] == {
        "touches_this_month": 0,
        "outbound_allowed": True,
        "reason": None,
        "max_per_month": 4,
    }
