"""Greetings due and done; mobile sync returns what changed since the cursor, in scope only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text

from shared import clock
from shared.models import CareTask, Customer
from tests.fixtures import factories_manager as fm


async def test_greetings_due_and_done_once(manager_client, sm, tokens) -> None:
    today = clock.today()
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=2)
        c0, c1 = w.a1
        (await s.get(Customer, c0.id)).birthday = (
            date(1990, today.month, today.day) if not (today.month == 2 and today.day == 29) else date(1992, 2, 29)
        )
        (await s.get(Customer, c1.id)).birthday = date(1990, 1, 1) if today.month != 1 else date(1990, 7, 1)
        (await s.get(Customer, c1.id)).gender = "F"
        hday = today + timedelta(days=2)
        await s.execute(
            text(
                "INSERT INTO holidays (day, name, greeting_template) VALUES (:d, 'Test day', '{name}，节日快乐') ON CONFLICT (day) DO NOTHING"
            ),
            {"d": hday},
        )
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    due = (await manager_client.get("/v1/greetings", headers=h)).json()["items"]
    occ = {(i["customer_id"], i["occasion"]) for i in due}
    bday = f"birthday:{today.year}"
    hol = f"holiday:{hday.isoformat()}"
    assert (c0.id, bday) in occ and (c0.id, hol) in occ and (c1.id, hol) in occ and (c1.id, bday) not in occ
    assert all(i["customer_id"] in {c0.id, c1.id} for i in due)
    text_c1 = next(i["text"] for i in due if i["customer_id"] == c1.id)
    assert text_c1.startswith("张女士")
    key = {"Idempotency-Key": "greet-0001-abcd"}
    r = await manager_client.post(
        f"/v1/greetings/{bday}/customers/{c0.id}/done", json={"channel": "sms"}, headers={**h, **key}
    )
    assert r.status_code == 201, r.text
    again = await manager_client.post(
        f"/v1/greetings/{bday}/customers/{c0.id}/done",
        json={"channel": "sms"},
        headers={**h, "Idempotency-Key": "greet-0002-abcd"},
    )
    assert again.status_code == 409
    due2 = {
        (i["customer_id"], i["occasion"])
        for i in (await manager_client.get("/v1/greetings", headers=h)).json()["items"]
    }
    assert (c0.id, bday) not in due2 and (c1.id, hol) in due2
    # a colleague's customer: 404
    other = w.a2[0]
    assert (
        await manager_client.post(
            f"/v1/greetings/{hol}/customers/{other.id}/done",
            json={"channel": "sms"},
            headers={**h, "Idempotency-Key": "greet-0003-abcd"},
        )
    ).status_code == 404


async def test_sync_changes_since_cursor(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=3)
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    first = (await manager_client.get("/v1/sync", headers=h)).json()
    assert {c["id"] for c in first["customers"]} == {c.id for c in w.a1}
    assert {t["customer_id"] for t in first["tasks"]} == {c.id for c in w.a1}
    assert {p["customer_id"] for p in first["portraits"]} == {c.id for c in w.a1}
    assert all("****" in c["phone"] for c in first["customers"])
    cursor = first["next_cursor"]
    quiet = (await manager_client.get("/v1/sync", params={"cursor": cursor}, headers=h)).json()
    assert quiet["tasks"] == [] and quiet["customers"] == [] and quiet["portraits"] == []
    async with sm.begin() as s:
        await s.execute(
            text("UPDATE customer_profiles SET risk_level = 'high', updated_at = now() WHERE customer_id = :c"),
            {"c": w.a1[1].id},
        )
        await s.execute(
            text("UPDATE customer_profiles SET risk_level = 'high', updated_at = now() WHERE customer_id = :c"),
            {"c": w.a2[0].id},
        )
        t = await s.get(CareTask, w.tasks[w.a1[2].id].id)
        t.status, t.updated_at = "cancelled", datetime.now(clock.TZ)
    changed = (await manager_client.get("/v1/sync", params={"cursor": cursor}, headers=h)).json()
    assert [p["customer_id"] for p in changed["portraits"]] == [w.a1[1].id]
    assert [t["id"] for t in changed["tasks"]] == [w.tasks[w.a1[2].id].id]
    assert (await manager_client.get("/v1/sync", params={"cursor": "garbage"}, headers=h)).status_code == 400
