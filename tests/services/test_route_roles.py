"""Every /v1 route declares who may call it (RELIABILITY C8): a static check over all four apps.

Public routes are listed explicitly; anything else without an `authenticated(...)` dependency
fails this test, so a new endpoint cannot ship unauthenticated by accident.
"""

from __future__ import annotations

import pytest

from admin_app.app import create_app as admin
from alliance_app.app import create_app as alliance
from customer_app.app import create_app as customer
from manager_app.app import create_app as manager
from tests.fixtures.routes import api_routes, declared_roles

PUBLIC = {
    "/v1/auth/otp",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/oauth/token",
    "/v1/merchants/apply",  # a merchant applies before it has credentials
    "/v1/sms/replies",  # the SMS gateway: HMAC-signed (TENURE_SMS_GATEWAY_SECRET), no bearer token
}


@pytest.mark.parametrize(
    "factory,expected_roles",
    [
        (customer, {"customer"}),
        (manager, {"account_manager", "branch_head", "hall_staff"}),
        (alliance, {"merchant"}),
        (admin, {"admin", "analyst", "strategist", "operator", "auditor", "branch_head"}),
    ],
)
def test_every_route_declares_roles_of_its_audience(factory, expected_roles: set[str]) -> None:
    app = factory()
    undeclared, foreign = [], []
    routes = api_routes(app)
    assert len([r for r in routes if r.path.startswith("/v1")]) > 3  # the walk really sees the routers
    for route in routes:
        if not route.path.startswith("/v1") or route.path in PUBLIC:
            continue
        roles = declared_roles(route)
        if not roles:
            undeclared.append(f"{sorted(route.methods)} {route.path}")
        elif not roles <= expected_roles:
            foreign.append(f"{route.path}: {sorted(roles - expected_roles)}")
    assert undeclared == [], f"routes without a role: {undeclared}"
    assert foreign == [], f"routes admitting roles of another audience: {foreign}"
