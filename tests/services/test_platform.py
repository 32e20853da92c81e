"""Health, readiness, the shared error shape, and role separation across the four services."""

from __future__ import annotations

import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from shared.auth.principals import Audience, Principal
from shared.auth.tokens import issue_access_token
from tests.fixtures.apps import otp_in
from tests.fixtures.factories import TEST_PASSWORD, create_branch, create_customer, create_merchant, create_staff

ERROR_KEYS = {"error", "detail", "context"}
CLIENTS = ["customer_client", "manager_client", "alliance_client", "admin_client"]


def assert_error_shape(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ERROR_KEYS and isinstance(body["error"], str) and isinstance(body["detail"], str)
    return body


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_health_and_ready(clients, client_name: str) -> None:
    client = clients[client_name]
    assert (await client.get("/healthz")).json()["status"] == "ok"
    assert (await client.get("/readyz")).json()["status"] == "ready"
    assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_openapi_marks_the_operations_that_need_a_token(clients, client_name: str) -> None:
    """/docs has an Authorize button and a lock on exactly the operations behind a role."""
    doc = (await clients[client_name].get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    secured = {(path, m) for path, ops in doc["paths"].items() for m, op in ops.items() if op.get("security")}
    assert ("/v1/me", "get") in secured
    assert ("/healthz", "get") not in secured and ("/readyz", "get") not in secured
    assert all(
        op.get("security") in (None, [{"bearerAuth": []}]) for ops in doc["paths"].values() for op in ops.values()
    )


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_error_shape_everywhere(clients, client_name: str) -> None:
    client = clients[client_name]
    assert_error_shape(await client.get("/v1/nope"), 404)
    assert_error_shape(await client.get("/v1/me"), 401)
    assert_error_shape(await client.get("/v1/me", headers={"Authorization": "Bearer garbage"}), 401)
    assert_error_shape(await client.delete("/healthz"), 405)


async def _principals(sm):
    async with sm.begin() as s:
        branch = await create_branch(s)
        customer = await create_customer(s, branch_id=branch.id)
        manager = await create_staff(s, role="account_manager", org_unit_id=branch.id)
        admin = await create_staff(s, role="admin")
        merchant = await create_merchant(s)
    return {
        "customer_client": Principal("customer", customer.id, "customer", Audience.CUSTOMER),
        "manager_client": Principal("staff", manager.id, "account_manager", Audience.MANAGER, branch.id),
        "alliance_client": Principal("merchant", merchant.id, "merchant", Audience.ALLIANCE),
        "admin_client": Principal("staff", admin.id, "admin", Audience.ADMIN),
    }


async def test_each_token_only_works_on_its_own_service(clients, sm, settings) -> None:
    principals = await _principals(sm)
    for owner, principal in principals.items():
        token = issue_access_token(settings, principal)
        for client_name in CLIENTS:
            client = clients[client_name]
            resp = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            if client_name == owner:
                assert resp.status_code == 200, (owner, resp.text)
            else:
                assert_error_shape(resp, 401)


async def test_expired_tampered_and_foreign_tokens_refused(customer_client, sm, settings) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    p = Principal("customer", c.id, "customer", Audience.CUSTOMER)
    expired = issue_access_token(settings, p, ttl_s=-120)
    assert_error_shape(await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    good = issue_access_token(settings, p)
    head, payload, sig = good.split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}AAAA"
    assert_error_shape(await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"}), 401)
    # same claims, signed with another key
    claims = {
        "iss": "tenure",
        "aud": "customer-app",
        "sub": f"customer:{c.id}",
        "role": "customer",
        "exp": int(time.time()) + 60,
    }
    forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(b"x" * 48))
    assert_error_shape(await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    # alg=none
    import base64
    import json

    b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    none_token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_error_shape(await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {none_token}"}), 401)
    assert (await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {good}"})).status_code == 200


async def test_customer_sms_login_flow_and_limits(customer_client, customer_app, sm, settings) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    assert (await customer_client.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
    text_sent = customer_app.state.sms_sender.last_to(c.phone)
    code = otp_in(text_sent)
    wrong = "000000" if code != "000000" else "111111"
    assert_error_shape(await customer_client.post("/v1/auth/login", json={"phone": c.phone, "code": wrong}), 401)
    ok = await customer_client.post("/v1/auth/login", json={"phone": c.phone, "code": code})
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    assert (await customer_client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()[
        "id"
    ] == c.id
    # a code works once
    assert_error_shape(await customer_client.post("/v1/auth/login", json={"phone": c.phone, "code": code}), 401)
    # refresh rotates; reusing the old refresh token revokes the family
    r1 = await customer_client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r1.status_code == 200
    assert_error_shape(
        await customer_client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )
    assert_error_shape(
        await customer_client.post("/v1/auth/refresh", json={"refresh_token": r1.json()["refresh_token"]}), 401
    )
    # wrong codes are rate-limited per calling address (not per number: that would let anyone
    # lock a customer out); two failures above (wrong code, reused code), then the rest of the budget
    budget = settings.otp_fail_per_address
    statuses = [
        (await customer_client.post("/v1/auth/login", json={"phone": c.phone, "code": "123456"})).status_code
        for _ in range(budget - 2 + 2)
    ]
    assert statuses == [401] * (budget - 2) + [429, 429]
    assert_error_shape(await customer_client.post("/v1/auth/otp", json={"phone": "12345"}), 422)


async def test_staff_password_login_and_lockout(manager_client, admin_client, sm) -> None:
    async with sm.begin() as s:
        mgr = await create_staff(s, role="account_manager")
    ok = await manager_client.post("/v1/auth/login", json={"username": mgr.username, "password": TEST_PASSWORD})
    assert ok.status_code == 200, ok.text
    # a manager cannot sign in to the back office
    assert_error_shape(
        await admin_client.post("/v1/auth/login", json={"username": mgr.username, "password": TEST_PASSWORD}), 403
    )
    statuses = [
        (await manager_client.post("/v1/auth/login", json={"username": mgr.username, "password": "wrong"})).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    # locked even with the right password while the window lasts
    assert_error_shape(
        await manager_client.post("/v1/auth/login", json={"username": mgr.username, "password": TEST_PASSWORD}), 429
    )


async def test_merchant_client_credentials(alliance_client, sm) -> None:
    from tests.fixtures.factories import create_merchant_client

    async with sm.begin() as s:
        m = await create_merchant(s)
        cid, secret = await create_merchant_client(s, m.id)
        pending = await create_merchant(s, status="applied")
        pcid, psecret = await create_merchant_client(s, pending.id)
    ok = await alliance_client.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert "refresh_token" not in body
    me = await alliance_client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == m.id
    assert_error_shape(
        await alliance_client.post(
            "/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": cid, "client_secret": "nope"}
        ),
        401,
    )
    assert_error_shape(
        await alliance_client.post(
            "/v1/oauth/token", data={"grant_type": "password", "client_id": cid, "client_secret": secret}
        ),
        400,
    )
    assert_error_shape(
        await alliance_client.post(
            "/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": pcid, "client_secret": psecret}
        ),
        403,
    )
