"""Each back-office role can do only what the permission table allows (RELIABILITY C8).

The matrix is generated from the app's routes: every route of issue 7's routers must declare
exactly the roles of its permission in shared.backoffice.permissions, and calling it with a
token of any other role gives 403 while an allowed role never gets 401/403. Customer, manager
and merchant tokens get 401 on every admin route and method.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from shared.backoffice.permissions import PERMISSIONS, roles_with
from tests.fixtures.routes import api_routes, declared_roles

# (method, path) → permission, for the routes this issue owns.
OWN = {
    ("GET", "/v1/org-units"): "org.read",
    ("POST", "/v1/org-units"): "org.write",
    ("PATCH", "/v1/org-units/{unit_id}"): "org.write",
    ("DELETE", "/v1/org-units/{unit_id}"): "org.write",
    ("GET", "/v1/roles"): "staff.read",
    ("GET", "/v1/permissions"): "staff.read",
    ("GET", "/v1/staff"): "staff.read",
    ("GET", "/v1/staff/{staff_id}"): "staff.read",
    ("POST", "/v1/staff"): "staff.write",
    ("PATCH", "/v1/staff/{staff_id}"): "staff.write",
    ("PUT", "/v1/staff/{staff_id}/password"): "staff.write",
    ("POST", "/v1/staff/{staff_id}/password-reset"): "staff.write",
    ("GET", "/v1/assignments"): "assignments.read",
    ("GET", "/v1/assignments/history"): "assignments.read",
    ("POST", "/v1/assignments/move"): "assignments.write",
    ("POST", "/v1/assignments/unassign"): "assignments.write",
    ("GET", "/v1/imports/layouts"): "imports.read",
    ("POST", "/v1/imports"): "imports.write",
    ("GET", "/v1/imports"): "imports.read",
    ("GET", "/v1/imports/{import_id}"): "imports.read",
    ("GET", "/v1/imports/{import_id}/errors"): "imports.read",
    ("GET", "/v1/products"): "products.read",
    ("GET", "/v1/products/{product_id}"): "products.read",
    ("POST", "/v1/products"): "products.write",
    ("PATCH", "/v1/products/{product_id}"): "products.write",
    ("GET", "/v1/ads/merchant/pending"): "ads.approve",
    ("POST", "/v1/ads/{ad_id}/approve"): "ads.approve",
    ("POST", "/v1/ads/{ad_id}/reject"): "ads.approve",
    ("GET", "/v1/campaigns"): "campaigns.read",
    ("POST", "/v1/campaigns/preview"): "campaigns.read",
    ("POST", "/v1/campaigns"): "campaigns.write",
    ("GET", "/v1/campaigns/{campaign_id}"): "campaigns.read",
    ("PATCH", "/v1/campaigns/{campaign_id}"): "campaigns.write",
    ("POST", "/v1/campaigns/{campaign_id}/schedule"): "campaigns.launch",
    ("POST", "/v1/campaigns/{campaign_id}/cancel"): "campaigns.launch",
    ("POST", "/v1/campaigns/{campaign_id}/finish"): "campaigns.launch",
    ("POST", "/v1/campaigns/{campaign_id}/launch"): "campaigns.launch",
    ("POST", "/v1/campaigns/{campaign_id}/dispatch"): "campaigns.launch",
    ("GET", "/v1/campaigns/{campaign_id}/members"): "campaigns.read",
    ("GET", "/v1/reports/campaigns"): "reports.read",
    ("GET", "/v1/reports/campaigns/{campaign_id}"): "reports.read",
    ("GET", "/v1/reports/touches"): "reports.read",
    ("GET", "/v1/reports/manager-kpis"): "reports.read",
    ("GET", "/v1/reports/churn-models"): "reports.read",
    ("GET", "/v1/reports/four-high"): "reports.read",
    ("GET", "/v1/audit"): "audit.read",
    ("GET", "/v1/customers"): "customers.read",
    ("GET", "/v1/customers/{customer_id}"): "customers.read",
}
ALL_ROLES = ("admin", "analyst", "strategist", "operator", "branch_head", "auditor", "account_manager", "hall_staff")
PUBLIC = {"/v1/auth/login", "/v1/auth/refresh"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999999", path)


def own_routes(app) -> list[tuple[str, str, APIRoute]]:  # type: ignore[no-untyped-def]
    out = []
    for r in api_routes(app):
        for m in r.methods:
            if (m, r.path) in OWN:
                out.append((m, r.path, r))
    return out


def test_every_admin_route_declares_roles(admin_app) -> None:
    """Static check over ALL admin routes (every router, not only this issue's)."""
    missing = sorted(
        f"{sorted(r.methods)} {r.path}"
        for r in api_routes(admin_app)
        if r.path.startswith("/v1") and r.path not in PUBLIC and not declared_roles(r)
    )
    assert missing == []


def test_own_routes_follow_the_permission_table(admin_app) -> None:
    found = own_routes(admin_app)
    assert {(m, p) for m, p, _ in found} == set(OWN), "a route of this issue is missing or renamed"
    wrong = {
        f"{m} {p}": (sorted(declared_roles(r) or ()), roles_with(OWN[(m, p)]))
        for m, p, r in found
        if declared_roles(r) != set(roles_with(OWN[(m, p)]))
    }
    assert wrong == {}
    # the table itself: nobody but admin manages staff or unmasks, auditors only read
    assert PERMISSIONS["staff.write"] == {"admin"} and PERMISSIONS["customers.unmask"] == {"admin"}
    writes = [p for p in PERMISSIONS if p.split(".")[-1] in ("write", "launch", "approve", "unmask")]
    assert all("auditor" not in PERMISSIONS[p] for p in writes)
    assert all(not ({"account_manager", "hall_staff"} & roles) for roles in PERMISSIONS.values())


async def test_each_role_gets_exactly_its_routes(admin_app, admin_client, tokens, staff) -> None:
    headers = {role: tokens.admin(user.id, role, user.org_unit_id) for role, user in staff.items()}
    headers["account_manager"] = tokens.admin(staff["admin"].id, "account_manager")
    headers["hall_staff"] = tokens.admin(staff["admin"].id, "hall_staff")
    failures = []
    for method, path, _ in own_routes(admin_app):
        allowed = PERMISSIONS[OWN[(method, path)]]
        for role in ALL_ROLES:
            resp = await admin_client.request(method, concrete(path), headers=headers[role])
            ok = resp.status_code not in (401, 403) if role in allowed else resp.status_code == 403
            if not ok or resp.status_code >= 500:
                failures.append(f"{role} {method} {path} → {resp.status_code}")
    assert failures == []


@pytest.mark.parametrize("kind", ["customer", "manager", "merchant"])
async def test_foreign_tokens_refused_on_every_admin_route(admin_app, admin_client, tokens, staff, kind) -> None:
    header = {
        "customer": tokens.customer(1),
        "manager": tokens.manager(staff["admin"].id, "branch_head"),
        "merchant": tokens.merchant(1),
    }[kind]
    bad = []
    for r in api_routes(admin_app):
        if not r.path.startswith("/v1") or r.path in PUBLIC:
            continue
        for method in r.methods:
            resp = await admin_client.request(method, concrete(r.path), headers=header)
            if resp.status_code not in (401, 403):
                bad.append(f"{method} {r.path} → {resp.status_code}")
    assert bad == []
