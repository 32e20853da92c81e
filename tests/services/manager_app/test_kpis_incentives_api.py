"""KPI and incentive endpoints: a manager sees only themself, a branch head their branch; the
back office edits the rules and runs statements (idempotent, audited)."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.models import AuditLog
from tests.fixtures import factories_manager as fm
from tests.shared.manager import scenario


async def test_kpi_views_scoped(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        sc = await scenario.build(s)
        w = await fm.world(s, per_manager=1)
    me = tokens.manager(sc.m.id, "account_manager", sc.branch_id)
    mine = (await manager_client.get("/v1/kpis/me", params={"month": "2026-09"}, headers=me)).json()
    assert mine["score"] == 47.55 and mine["rank_in_branch"] == 2 and len(mine["trend"]) == 6
    assert (
        await manager_client.get(f"/v1/kpis/managers/{sc.m2.id}", params={"month": "2026-09"}, headers=me)
    ).status_code == 404
    head = tokens.manager(sc.head.id, "branch_head", sc.branch_id)
    branch = (await manager_client.get("/v1/kpis/branch", params={"month": "2026-09"}, headers=head)).json()
    assert {m["manager_id"] for m in branch["managers"]} == {sc.m.id, sc.m2.id, sc.other.id}
    assert (await manager_client.get(f"/v1/kpis/managers/{w.mgr_b1.id}", headers=head)).status_code == 404
    assert (await manager_client.get("/v1/kpis/branch", headers=me)).status_code == 403
    assert (await manager_client.get("/v1/kpis/me", params={"month": "2026-13"}, headers=me)).status_code == 422


async def test_incentive_rules_and_statements(admin_client, manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        sc = await scenario.build(s)
    from tests.fixtures.factories import create_staff

    async with sm.begin() as s:
        op = await create_staff(s, role="operator")
    admin = tokens.admin(op.id, "operator")
    rules = (await admin_client.get("/v1/incentives/rules", headers=admin)).json()
    assert rules["retained_high_risk_points"] == 50
    put = await admin_client.put("/v1/incentives/rules", json={**rules, "retained_high_risk_points": 60}, headers=admin)
    assert put.status_code == 200 and put.json()["retained_high_risk_points"] == 60
    assert (
        await admin_client.put("/v1/incentives/rules", json={**rules, "role": "admin"}, headers=admin)
    ).status_code == 422
    run1 = await admin_client.post("/v1/incentives/statements/run", json={"month": "2026-09"}, headers=admin)
    assert run1.status_code == 200, run1.text
    run2 = (await admin_client.post("/v1/incentives/statements/run", json={"month": "2026-09"}, headers=admin)).json()
    assert run2["created"] == 0
    me = tokens.manager(sc.m.id, "account_manager", sc.branch_id)
    st = (await manager_client.get("/v1/incentives/statements", params={"month": "2026-09"}, headers=me)).json()
    assert [(x["manager_id"], x["points"]) for x in st] == [(sc.m.id, 60 + 13)]
    assert (
        await manager_client.get(f"/v1/incentives/managers/{sc.other.id}/statements", headers=me)
    ).status_code == 404
    head = tokens.manager(sc.head.id, "branch_head", sc.branch_id)
    seen = {
        x["manager_id"]
        for x in (
            await manager_client.get("/v1/incentives/statements", params={"month": "2026-09"}, headers=head)
        ).json()
    }
    assert seen == {sc.m.id, sc.m2.id, sc.other.id}
    await admin_client.put("/v1/incentives/rules", json=rules, headers=admin)
    async with sm() as s:
        n = await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor == f"staff:{op.id}"))
        assert n == 4  # two rule edits (60, then the restore) and two runs
    assert (await admin_client.get("/v1/incentives/rules", headers=tokens.admin(op.id, "analyst"))).status_code == 403
