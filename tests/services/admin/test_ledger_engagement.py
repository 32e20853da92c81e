"""Back office: ledger verification and points jobs, programme rules, hunts, ads — roles and audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from shared.ledger import service as ledger
from shared.models import AccountKind, Asset, AuditLog, HuntPrize
from tests.fixtures.factories import create_customer, create_staff

NOW = datetime.now(UTC)


def _h(tokens, staff_id: int, role: str = "admin") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**tokens.admin(staff_id, role), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}


async def _staff(sm, role: str = "admin") -> int:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        return (await create_staff(s, role=role)).id


async def _audits(sm, action: str) -> int:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)))


async def test_verify_is_for_auditors(admin_client, sm, tokens) -> None:
    auditor, operator = await _staff(sm, "auditor"), await _staff(sm, "operator")
    r = await admin_client.get("/v1/ledger/verify", headers=tokens.admin(auditor, "auditor"))
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert (await admin_client.get("/v1/ledger/verify", headers=tokens.admin(operator, "operator"))).status_code == 403
    assert (await admin_client.get("/v1/ledger/verify", headers=tokens.customer(1))).status_code == 401


async def test_rules_validated_published_and_audited(admin_client, sm, tokens) -> None:
    op = await _staff(sm, "operator")
    h = tokens.admin(op, "operator")
    good = {
        "rewards": [2, 2, 2, 2, 2, 2, 20],
        "makeup": {"enabled": False, "max_days_back": 0, "cost_points": 0, "max_per_month": 0},
    }
    r = await admin_client.put("/v1/programme/rules/checkin_rules", headers=h, json=good)
    assert r.status_code == 200, r.text
    assert (await admin_client.get("/v1/programme/rules/checkin_rules", headers=h)).json()["rewards"][-1] == 20
    for bad in (
        {"rewards": [], "makeup": good["makeup"]},
        {"rewards": [-1], "makeup": good["makeup"]},
        {**good, "extra": 1},
    ):
        resp = await admin_client.put("/v1/programme/rules/checkin_rules", headers=h, json=bad)
        assert resp.status_code == 422 and set(resp.json()) == {"error", "detail", "context"}
    assert (await admin_client.put("/v1/programme/rules/nope", headers=h, json=good)).status_code == 422
    analyst = await _staff(sm, "analyst")
    assert (
        await admin_client.put("/v1/programme/rules/checkin_rules", headers=tokens.admin(analyst, "analyst"), json=good)
    ).status_code == 403
    assert await _audits(sm, "programme.rule.update") >= 1
    # back to the defaults for the other tests of this process
    await admin_client.put(
        "/v1/programme/rules/checkin_rules",
        headers=h,
        json={
            "rewards": [5, 5, 5, 10, 5, 5, 30],
            "makeup": {"enabled": True, "max_days_back": 3, "cost_points": 20, "max_per_month": 2},
        },
    )


async def test_hunt_creation_funds_pools_and_close_refunds(admin_client, sm, tokens) -> None:
    op = await _staff(sm, "operator")
    body = {
        "name": "Spring hunt",
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(days=3)).isoformat(),
        "daily_play_limit": 2,
        "spots": [{"kind": "app_page", "clue": "offers page"}],
        "prizes": [
            {"prize_type": "points", "amount": 20, "budget": 10, "odds_ppm": 100_000},
            {"prize_type": "data_mb", "amount": 1024, "budget": 5, "odds_ppm": 50_000},
        ],
    }
    h = _h(tokens, op, "operator")
    r = await admin_client.post("/v1/hunts", headers=h, json=body)
    assert r.status_code == 201, r.text
    hunt = r.json()
    again = await admin_client.post("/v1/hunts", headers=h, json=body)
    assert again.content == r.content and again.headers["Idempotent-Replayed"] == "true"
    points_prize = next(p for p in hunt["prizes"] if p["prize_type"] == "points")
    async with sm() as s:
        assert (
            await ledger.balance_of(s, asset=Asset.POINTS, kind=AccountKind.PRIZE_POOL, owner_id=points_prize["id"])
            == 200
        )
    r = await admin_client.post(
        f"/v1/hunts/{hunt['id']}/prizes",
        headers=_h(tokens, op, "operator"),
        json={"prize_type": "airtime_fen", "amount": 500, "budget": 4, "odds_ppm": 10_000},
    )
    assert r.status_code == 201 and len(r.json()["prizes"]) == 3
    over = await admin_client.post(
        f"/v1/hunts/{hunt['id']}/prizes",
        headers=_h(tokens, op, "operator"),
        json={"prize_type": "points", "amount": 1, "budget": 1, "odds_ppm": 900_000},
    )
    assert over.status_code == 422
    closed = await admin_client.post(f"/v1/hunts/{hunt['id']}/close", headers=tokens.admin(op, "operator"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    async with sm() as s:
        assert (
            await ledger.balance_of(s, asset=Asset.POINTS, kind=AccountKind.PRIZE_POOL, owner_id=points_prize["id"])
            == 0
        )
        assert await s.scalar(select(func.sum(HuntPrize.remaining)).where(HuntPrize.hunt_id == hunt["id"])) == 0
        assert (await ledger.verify(s))["ok"]
    assert await _audits(sm, "hunt.create") >= 1 and await _audits(sm, "hunt.close") >= 1


async def test_hunt_bad_input(admin_client, sm, tokens) -> None:
    op = await _staff(sm, "operator")
    base = {
        "name": "X hunt",
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(days=1)).isoformat(),
        "spots": [{"kind": "app_page"}],
    }
    bad = [
        {**base, "ends_at": (NOW - timedelta(days=1)).isoformat()},
        {**base, "spots": []},
        {**base, "spots": [{"kind": "merchant_code"}]},
        {**base, "prizes": [{"prize_type": "coupon", "budget": 1, "odds_ppm": 1}]},
        {**base, "prizes": [{"prize_type": "points", "amount": -5, "budget": 1, "odds_ppm": 1}]},
        {**base, "prizes": [{"prize_type": "gold", "amount": 5, "budget": 1, "odds_ppm": 1}]},
        {**base, "name": "x" * 500},
        {**base, "daily_play_limit": "lots"},
    ]
    for body in bad:
        r = await admin_client.post("/v1/hunts", headers=_h(tokens, op, "operator"), json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await admin_client.get("/v1/hunts/999999", headers=tokens.admin(op, "operator"))).status_code == 404
    r = await admin_client.post(
        "/v1/hunts",
        headers=_h(tokens, op, "operator"),
        json={**base, "spots": [{"kind": "merchant_code", "merchant_id": 999999}]},
    )
    assert r.status_code == 404


async def test_ads_crud_with_roles_and_audit(admin_client, sm, tokens) -> None:
    op = await _staff(sm, "operator")
    h = tokens.admin(op, "operator")
    body = {
        "title": "Gold week",
        "target_tiers": ["gold"],
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(days=5)).isoformat(),
        "link": "https://example.com/x",
    }
    r = await admin_client.post("/v1/ads", headers=h, json=body)
    assert r.status_code == 201, r.text
    ad = r.json()
    r = await admin_client.patch(f"/v1/ads/{ad['id']}", headers=h, json={"priority": 9})
    assert r.json()["priority"] == 9
    assert (await admin_client.delete(f"/v1/ads/{ad['id']}", headers=h)).status_code == 204
    listed = (await admin_client.get("/v1/ads?status=withdrawn", headers=h)).json()
    assert ad["id"] in [a["id"] for a in listed]
    assert (
        await admin_client.post("/v1/ads", headers=h, json={**body, "target_tiers": ["platinum"]})
    ).status_code == 422
    assert (
        await admin_client.post("/v1/ads", headers=h, json={**body, "link": "javascript:alert(1)"})
    ).status_code == 422
    analyst = await _staff(sm, "analyst")
    assert (await admin_client.post("/v1/ads", headers=tokens.admin(analyst, "analyst"), json=body)).status_code == 403
    assert await _audits(sm, "ad.create") >= 1 and await _audits(sm, "ad.withdraw") >= 1


async def test_points_adjust_and_jobs(admin_client, sm, tokens) -> None:
    admin = await _staff(sm, "admin")
    async with sm.begin() as s:
        c = await create_customer(s)
    h = _h(tokens, admin)
    r = await admin_client.post(
        "/v1/ledger/points/adjustments", headers=h, json={"customer_id": c.id, "delta": 30, "reason": "goodwill"}
    )
    assert r.status_code == 201 and r.json()["balance"] == 30, r.text
    assert (
        await admin_client.post(
            "/v1/ledger/points/adjustments",
            headers=_h(tokens, admin),
            json={"customer_id": c.id, "delta": -31, "reason": "too much"},
        )
    ).status_code == 402
    assert (
        await admin_client.post(
            "/v1/ledger/points/adjustments",
            headers=_h(tokens, admin),
            json={"customer_id": 999_999_999, "delta": 1, "reason": "nobody"},
        )
    ).status_code == 404
    r = await admin_client.post("/v1/ledger/points/expiry-runs", headers=tokens.admin(admin), json={})
    assert r.status_code == 200 and r.json()["chunks"] >= 0
    r = await admin_client.post(
        "/v1/ledger/points/accrual-runs", headers=tokens.admin(admin), json={"month": "2026-01"}
    )
    assert r.status_code == 200, r.text
    assert (
        await admin_client.post("/v1/ledger/points/accrual-runs", headers=tokens.admin(admin), json={"month": "2026-1"})
    ).status_code == 422
    op = await _staff(sm, "operator")
    assert (
        await admin_client.post("/v1/ledger/points/expiry-runs", headers=tokens.admin(op, "operator"), json={})
    ).status_code == 403
    assert await _audits(sm, "points.adjust") >= 1 and await _audits(sm, "points.expiry.run") >= 1
