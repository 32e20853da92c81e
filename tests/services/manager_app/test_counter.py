"""Hall counter: lookups by full phone, every one audited (found or not), masked output, visits
recorded as `hall` touches."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.models import AuditLog, Touch
from tests.fixtures import factories_manager as fm


async def _audits(sm, actor: str) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return list((await s.scalars(select(AuditLog).where(AuditLog.actor == actor).order_by(AuditLog.id))).all())


async def test_lookup_audited_and_masked(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.b1[0]  # hall staff may serve any active customer of the city
    h = tokens.manager(w.hall.id, "hall_staff", w.branch_a)
    found = await manager_client.post("/v1/counter/lookup", json={"phone": c.phone}, headers=h)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["id"] == c.id and body["phone"] == c.phone[:3] + "****" + c.phone[-4:]
    assert c.phone not in found.text and "id_number" not in body
    assert {"needs", "recommendations", "tags", "churn_warning"} <= set(body)
    missing = await manager_client.post("/v1/counter/lookup", json={"phone": "13000000000"}, headers=h)
    assert missing.status_code == 404 and set(missing.json()) == {"error", "detail", "context"}
    audits = await _audits(sm, f"staff:{w.hall.id}")
    assert [(a.action, a.object_id, a.detail["found"]) for a in audits] == [
        ("counter.lookup", str(c.id), True),
        ("counter.lookup", None, False),
    ]
    assert all(c.phone not in str(a.detail) for a in audits)
    # partial numbers are refused outright (no enumeration by prefix or last digits)
    assert (await manager_client.post("/v1/counter/lookup", json={"phone": c.phone[-4:]}, headers=h)).status_code == 422
    # account managers cannot use the counter
    mgr = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    assert (await manager_client.post("/v1/counter/lookup", json={"phone": c.phone}, headers=mgr)).status_code == 403


async def test_visit_recorded_as_hall_touch(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=1)
    c = w.a1[0]
    h = {**tokens.manager(w.hall.id, "hall_staff", w.branch_a), "Idempotency-Key": "hall-visit-0001"}
    body = {"phone": c.phone, "outcome": "accepted_offer", "product_id": w.product.id, "consent_ref": "counter-sig-1"}
    r1 = await manager_client.post("/v1/counter/visits", json=body, headers=h)
    r2 = await manager_client.post("/v1/counter/visits", json=body, headers=h)
    assert r1.status_code == 201, r1.text
    assert r2.content == r1.content
    async with sm() as s:
        touches = (await s.scalars(select(Touch).where(Touch.customer_id == c.id))).all()
        assert [(t.channel, t.outcome, t.staff_id) for t in touches] == [("hall", "accepted_offer", w.hall.id)]
        n = await s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.actor == f"staff:{w.hall.id}", AuditLog.action == "counter.visit")
        )
        assert n == 1
