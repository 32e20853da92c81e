"""Organisation, staff, assignments, products, merchant ads, customer 360 and the audit log over HTTP.

Every change writes exactly one audit row (who, what, from where), every unmasked view too, and
the audit log cannot be edited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.backoffice import ads as ad_service
from tests.fixtures.factories import create_customer, create_merchant, create_staff
from tests.fixtures.factories_backoffice import bulk_customers


async def audit_rows(sm, actor_id: int, action: str) -> list:
    async with sm() as s:
        return (
            await s.execute(
                text("SELECT * FROM audit_log WHERE actor = :a AND action = :x ORDER BY id"),
                {"a": f"staff:{actor_id}", "x": action},
            )
        ).all()


class TestOrgAndStaff:
    async def test_org_crud_with_hierarchy_rules_and_audit(self, admin_client, auth, staff, org, sm) -> None:
        dept, centre, _ = org
        bad = await admin_client.post(
            "/v1/org-units",
            headers=auth["admin"],
            json={"kind": "branch", "code": "BR-x1", "name": "x", "parent_id": dept.id},
        )
        assert bad.status_code == 422
        code = f"BR-{centre.id}-new"
        made = await admin_client.post(
            "/v1/org-units",
            headers=auth["admin"],
            json={"kind": "branch", "code": code, "name": "越城分公司", "parent_id": centre.id},
        )
        assert made.status_code == 201, made.text
        uid = made.json()["id"]
        dup = await admin_client.post(
            "/v1/org-units",
            headers=auth["admin"],
            json={"kind": "branch", "code": code, "name": "y", "parent_id": centre.id},
        )
        assert dup.status_code == 409
        assert (
            await admin_client.patch(f"/v1/org-units/{uid}", headers=auth["admin"], json={"name": "柯桥分公司"})
        ).json()["name"] == "柯桥分公司"
        assert (await admin_client.delete(f"/v1/org-units/{centre.id}", headers=auth["admin"])).status_code == 409
        assert (await admin_client.delete(f"/v1/org-units/{uid}", headers=auth["admin"])).status_code == 204
        for action in ("org_unit.create", "org_unit.update", "org_unit.delete"):
            rows = await audit_rows(sm, staff["admin"].id, action)
            assert [r.object_id for r in rows] == [str(uid)] and rows[0].ip is not None
        # branch heads see only their branch
        listed = (await admin_client.get("/v1/org-units", headers=auth["branch_head"])).json()
        assert [u["id"] for u in listed] == [org[2].id]

    async def test_staff_accounts_roles_and_passwords(self, admin_client, auth, staff, org, sm) -> None:
        body = {
            "username": f"mgr{staff['admin'].id}x",
            "full_name": "赵经理",
            "role": "account_manager",
            "org_unit_id": org[2].id,
            "password": "Shaoxing-2026!",
            "work_phone": "057512345678",
        }
        assert (
            await admin_client.post("/v1/staff", headers=auth["admin"], json={**body, "org_unit_id": None})
        ).status_code == 422
        assert (
            await admin_client.post("/v1/staff", headers=auth["admin"], json={**body, "password": "abcdefghijk"})
        ).status_code == 422
        made = await admin_client.post("/v1/staff", headers=auth["admin"], json=body)
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        assert made.json()["work_phone"] == "057****5678"
        assert (await admin_client.post("/v1/staff", headers=auth["admin"], json=body)).status_code == 409
        async with sm() as s:
            stored = await s.scalar(text("SELECT password_hash FROM staff_users WHERE id = :i"), {"i": sid})
        assert stored.startswith("$argon2id$")
        patched = await admin_client.patch(
            f"/v1/staff/{sid}", headers=auth["admin"], json={"capacity": 450, "active": False}
        )
        assert patched.json()["capacity"] == 450 and patched.json()["active"] is False
        # a deactivated account cannot sign in, and its refresh tokens were revoked
        login = await admin_client.post(
            "/v1/auth/login", json={"username": body["username"], "password": body["password"]}
        )
        assert login.status_code in (401, 403)
        reset = await admin_client.post(f"/v1/staff/{sid}/password-reset", headers=auth["admin"])
        temp = reset.json()["temporary_password"]
        assert len(temp) >= 12
        assert (
            await admin_client.put(
                f"/v1/staff/{sid}/password", headers=auth["admin"], json={"password": "Another-pass-99"}
            )
        ).status_code == 204
        for action in ("staff.create", "staff.update", "staff.password_reset", "staff.password_set"):
            rows = await audit_rows(sm, staff["admin"].id, action)
            assert len(rows) == 1 and rows[0].object_id == str(sid), action
            assert temp not in str(rows[0].detail) and "Another-pass" not in str(rows[0].detail)
        # the branch head lists only the staff of their branch
        seen = (await admin_client.get("/v1/staff", headers=auth["branch_head"])).json()["items"]
        assert {u["org_unit_id"] for u in seen} == {org[2].id}
        assert (
            await admin_client.get(f"/v1/staff/{staff['admin'].id}", headers=auth["branch_head"])
        ).status_code == 404
        roles = (await admin_client.get("/v1/roles", headers=auth["auditor"])).json()
        assert {r["role"] for r in roles} >= {"admin", "hall_staff", "account_manager"}


class TestAssignments:
    async def test_move_keeps_reason_and_history(self, admin_client, auth, staff, org, sm) -> None:
        branch = org[2]
        async with sm.begin() as s:
            ids = await bulk_customers(s, 4, branch_id=branch.id)
            m1 = await create_staff(s, role="account_manager", org_unit_id=branch.id, capacity=3)
            m2 = await create_staff(s, role="account_manager", org_unit_id=branch.id)
            other = await bulk_customers(s, 1)
        move = {"customer_ids": ids[:3], "to_manager_id": m1.id, "reason": "rebalance after leave"}
        r = await admin_client.post("/v1/assignments/move", headers=auth["operator"], json=move)
        assert r.status_code == 200 and r.json()["moved"] == ids[:3]
        again = await admin_client.post("/v1/assignments/move", headers=auth["operator"], json=move)
        assert again.json() == {"moved": [], "unchanged": ids[:3], "manager_load": 3}
        over = await admin_client.post(
            "/v1/assignments/move", headers=auth["operator"], json={**move, "customer_ids": [ids[3]]}
        )
        assert over.status_code == 409  # capacity 3
        r = await admin_client.post(
            "/v1/assignments/move",
            headers=auth["branch_head"],
            json={"customer_ids": ids[:2], "to_manager_id": m2.id, "reason": "customer asked"},
        )
        assert r.json()["moved"] == ids[:2]
        # a branch head cannot reach customers of another branch
        r = await admin_client.post(
            "/v1/assignments/move",
            headers=auth["branch_head"],
            json={"customer_ids": other, "to_manager_id": m2.id, "reason": "not mine"},
        )
        assert r.status_code == 404
        hist = (
            await admin_client.get(f"/v1/assignments/history?customer_id={ids[0]}", headers=auth["operator"])
        ).json()
        assert [(h["from_manager_id"], h["to_manager_id"], h["reason"]) for h in hist] == [
            (m1.id, m2.id, "customer asked"),
            (None, m1.id, "rebalance after leave"),
        ]
        listed = (await admin_client.get(f"/v1/assignments?manager_id={m2.id}", headers=auth["branch_head"])).json()
        assert [a["customer_id"] for a in listed["items"]] == ids[:2] and "****" in listed["items"][0]["customer_phone"]
        gone = await admin_client.post(
            "/v1/assignments/unassign",
            headers=auth["admin"],
            json={"customer_ids": [ids[2]], "reason": "left the network"},
        )
        assert gone.json()["moved"] == [ids[2]]
        assert len(await audit_rows(sm, staff["operator"].id, "assignment.move")) == 1
        assert len(await audit_rows(sm, staff["branch_head"].id, "assignment.move")) == 1
        assert len(await audit_rows(sm, staff["admin"].id, "assignment.unassign")) == 1


class TestCatalogAndAds:
    async def test_products_with_eligibility(self, admin_client, auth, staff, sm) -> None:
        body = {
            "code": f"DP{staff['admin'].id}",
            "name": "定向视频流量包 20GB",
            "kind": "data_pack",
            "monthly_fee_fen": 2000,
            "data_mb": 20480,
            "eligibility": {"min_tier": "star3", "max_per_customer": 1},
        }
        made = await admin_client.post("/v1/products", headers=auth["strategist"], json=body)
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        assert made.json()["eligibility"] == {"min_tier": "star3", "max_per_customer": 1}
        assert (
            await admin_client.post(
                "/v1/products",
                headers=auth["strategist"],
                json={**body, "code": "X1", "eligibility": {"min_tier": "platinum"}},
            )
        ).status_code == 422
        assert (
            await admin_client.post(
                "/v1/products",
                headers=auth["strategist"],
                json={**body, "code": "X2", "eligibility": {"plan_ids": [pid]}},
            )
        ).status_code == 422
        off = await admin_client.patch(f"/v1/products/{pid}", headers=auth["admin"], json={"active": False})
        assert off.json()["active"] is False
        assert len(await audit_rows(sm, staff["strategist"].id, "product.create")) == 1
        assert len(await audit_rows(sm, staff["admin"].id, "product.update")) == 1

    async def test_products_with_contract_terms(self, admin_client, auth, staff) -> None:
        """存就送 / 充100送60 terms are defined by the back office (shared.business.contracts reads them)."""
        terms = {
            "rebate": {"months": 6, "total_fen": 6000},
            "cancel_policy": "penalty",
            "cancel_penalty_fen": 2000,
            "min_term_months": 12,
            "early_termination": "fee",
            "early_termination_fee_fen": 5000,
        }
        body = {
            "code": f"RB{staff['admin'].id}",
            "name": "充100送60",
            "kind": "recharge_bonus",
            "one_time_fee_fen": 10000,
            "eligibility": terms,
        }
        made = await admin_client.post("/v1/products", headers=auth["strategist"], json=body)
        assert made.status_code == 201, made.text
        assert made.json()["eligibility"] == terms
        bad = {**body, "code": "RB-X", "eligibility": {"early_termination": "maybe"}}
        assert (await admin_client.post("/v1/products", headers=auth["strategist"], json=bad)).status_code == 422
        assert (await admin_client.post("/v1/products", headers=auth["operator"], json=body)).status_code == 403

    async def test_merchant_ads_need_operator_approval(self, admin_client, auth, staff, sm) -> None:
        now = datetime.now(UTC)
        async with sm.begin() as s:
            m = await create_merchant(s)
            a1 = await ad_service.submit_merchant_ad(
                s,
                merchant_id=m.id,
                title="Tea 20% off",
                starts_at=now,
                ends_at=now + timedelta(days=7),
                target_tiers=["gold"],
            )
            a2 = await ad_service.submit_merchant_ad(
                s, merchant_id=m.id, title="Spam", starts_at=now, ends_at=now + timedelta(days=7)
            )
        pending = (await admin_client.get("/v1/ads/merchant/pending", headers=auth["operator"])).json()
        assert {a1.id, a2.id} <= {a["id"] for a in pending}
        assert (await admin_client.post(f"/v1/ads/{a1.id}/approve", headers=auth["operator"])).json()[
            "status"
        ] == "approved"
        assert (await admin_client.post(f"/v1/ads/{a1.id}/approve", headers=auth["operator"])).status_code == 409
        assert (
            await admin_client.post(f"/v1/ads/{a2.id}/reject", headers=auth["operator"], json={})
        ).status_code == 422
        rej = await admin_client.post(
            f"/v1/ads/{a2.id}/reject", headers=auth["operator"], json={"reason": "misleading"}
        )
        assert rej.json()["status"] == "rejected"
        assert (await admin_client.post(f"/v1/ads/{a2.id}/approve", headers=auth["strategist"])).status_code == 403
        rows = await audit_rows(sm, staff["operator"].id, "ad.reject")
        assert rows[0].detail["reason"] == "misleading"


class TestCustomer360AndAudit:
    async def test_masked_by_default_unmask_is_admin_only_and_audited(self, admin_client, auth, staff, org, sm) -> None:
        async with sm.begin() as s:
            c = await create_customer(s, branch_id=org[2].id, name="欧阳娜娜", email="nana@example.com")
            elsewhere = await create_customer(s)
        masked = (await admin_client.get(f"/v1/customers/{c.id}", headers=auth["analyst"])).json()
        assert masked["phone"] == f"{c.phone[:3]}****{c.phone[-4:]}" and masked["name"] == "欧***"
        assert c.id_number not in str(masked) and c.phone not in str(masked) and masked["unmasked"] is False
        assert (await admin_client.get(f"/v1/customers/{c.id}?unmask=true", headers=auth["analyst"])).status_code == 403
        full = await admin_client.get(
            f"/v1/customers/{c.id}?unmask=true",
            headers=auth["admin"],
        )
        assert full.json()["phone"] == c.phone and full.json()["id_number"] == c.id_number
        rows = await audit_rows(sm, staff["admin"].id, "customer.unmask")
        assert [(r.object_id, r.role) for r in rows] == [(str(c.id), "admin")] and rows[0].ip is not None
        assert await audit_rows(sm, staff["analyst"].id, "customer.unmask") == []
        # search: full phone, last 4, name prefix; always masked
        for q in (c.phone, c.phone[-4:], "欧阳"):
            found = (
                await admin_client.get(
                    "/v1/customers", params={"q": q, "branch_id": org[2].id}, headers=auth["operator"]
                )
            ).json()["items"]
            assert [x["id"] for x in found] == [c.id] and found[0]["phone"].count("*") == 4
        # branch scope
        assert (await admin_client.get(f"/v1/customers/{c.id}", headers=auth["branch_head"])).status_code == 200
        assert (await admin_client.get(f"/v1/customers/{elsewhere.id}", headers=auth["branch_head"])).status_code == 404
        assert (await admin_client.get(f"/v1/customers/{c.id}", headers=auth["auditor"])).status_code == 403

    async def test_audit_log_read_filters_and_cannot_be_edited(self, admin_client, auth, staff, sm) -> None:
        for n in range(3):
            await admin_client.post(
                "/v1/products",
                headers=auth["admin"],
                json={"code": f"AU{staff['admin'].id}-{n}", "name": "p", "kind": "voice_pack"},
            )
        page1 = (
            await admin_client.get(
                "/v1/audit",
                headers=auth["auditor"],
                params={"actor": f"staff:{staff['admin'].id}", "action": "product.", "limit": 2},
            )
        ).json()
        assert len(page1["items"]) == 2 and page1["next_before"]
        page2 = (
            await admin_client.get(
                "/v1/audit",
                headers=auth["auditor"],
                params={
                    "actor": f"staff:{staff['admin'].id}",
                    "action": "product.create",
                    "before": page1["next_before"],
                },
            )
        ).json()
        assert len(page2["items"]) == 1 and page2["next_before"] is None
        csv = await admin_client.get("/v1/audit?format=csv&action=product.create", headers=auth["admin"])
        assert csv.headers["content-type"].startswith("text/csv") and "product.create" in csv.text
        assert (await admin_client.get("/v1/audit", headers=auth["analyst"])).status_code == 403
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert (await admin_client.request(method, "/v1/audit", headers=auth["admin"])).status_code == 405
        some_id = page1["items"][0]["id"]
        for sql in ("UPDATE audit_log SET action = 'x' WHERE id = :i", "DELETE FROM audit_log WHERE id = :i"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with sm.begin() as s:
                    await s.execute(text(sql), {"i": some_id})
        async with sm() as s:
            assert (
                await s.scalar(text("SELECT action FROM audit_log WHERE id = :i"), {"i": some_id}) == "product.create"
            )
