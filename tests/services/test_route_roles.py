"""Every /v1 route declares who may call it (RELIABILITY C8): a static check over all four apps.

Public routes are listed explicitly; anything else without an `authenticated(...)` dependency
fails this test, so a new endpoint cannot ship unauthenticated by accident.
"""
from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from admin_app.app import create_app as admin
from alliance_app.app import create_app as alliance
from customer_app.app import create_app as customer
from manager_app.app import create_app as manager

PUBLIC = {
    "/v1/auth/otp", "/v1/auth/login", "/v1/auth/refresh", "/v1/oauth/token",
    "/v1/merchants/apply",  # a merchant applies before it has credentials
}


def _dependency_calls(route: APIRoute) -> list[object]:
    stack, calls = list(route.dependant.dependencies), []
    while stack:
        dep = stack.pop()
        calls.append(dep.call)
        stack.extend(dep.dependencies)
    return calls


def _roles(route: APIRoute) -> set[str] | None:
    for call in _dependency_calls(route):
        roles = getattr(call, "roles", None)
        if roles is not None:
            return set(roles)
    return None


@pytest.mark.parametrize("factory,expected_roles", [
    (customer, {"customer"}),
    (manager, {"account_manager", "branch_head", "hall_staff"}),
    (alliance, {"merchant"}),
    (admin, {"admin", "analyst", "strategist", "operator", "auditor", "branch_head"}),
])
def test_every_route_declares_roles_of_its_audience(factory, expected_roles: set[str]) -> None:
    app = factory()
    undeclared, foreign = [], []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/v1") or route.path in PUBLIC:
            continue
        roles = _roles(route)
        if not roles:
            undeclared.append(f"{sorted(route.methods)} {route.path}")
        elif not roles <= expected_roles:
            foreign.append(f"{route.path}: {sorted(roles - expected_roles)}")
    assert undeclared == [], f"routes without a role: {undeclared}"
    assert foreign == [], f"routes admitting roles of another audience: {foreign}"
