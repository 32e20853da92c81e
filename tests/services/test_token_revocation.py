"""Access tokens end with the account's standing, not 15 minutes later (issue 18): deactivating,
demoting, moving or re-passwording a staff member, or suspending a merchant, makes the token they
hold get 401 on the very next request, in every service process (the check reads Postgres)."""

from __future__ import annotations

import httpx
import pytest

from manager_app.app import create_app as create_manager_app
from shared.settings import Settings
from tests.fixtures.factories import TEST_PASSWORD, create_branch, create_merchant, create_merchant_client, create_staff
from tests.services.alliance.helpers import with_key
from tests.services.test_platform import assert_error_shape


async def _signed_in(manager_client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    resp = await manager_client.post("/v1/auth/login", json={"username": username, "password": TEST_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.mark.parametrize(
    "change",
    [
        {"active": False},
        {"role": "hall_staff"},  # demoted
        "branch",  # moved to another branch (the token's branch scope is stale)
        "password",
    ],
    ids=["deactivated", "demoted", "moved", "new-password"],
)
async def test_a_staff_token_dies_with_the_change(manager_client, admin_client, tokens, sm, change) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        branch, other = await create_branch(s), await create_branch(s)
        admin = await create_staff(s, role="admin")
        mgr = await create_staff(s, role="account_manager", org_unit_id=branch.id)
    adm = tokens.admin(admin.id)
    held = await _signed_in(manager_client, mgr.username)
    minted = tokens.manager(mgr.id, org_unit_id=branch.id)  # tests' direct tokens carry the starting version
    for h in (held, minted):
        assert (await manager_client.get("/v1/me", headers=h)).status_code == 200
    if change == "password":
        resp = await admin_client.put(f"/v1/staff/{mgr.id}/password", headers=adm, json={"password": "Another-pass-99"})
    else:
        patch = {"org_unit_id": other.id} if change == "branch" else change
        resp = await admin_client.patch(f"/v1/staff/{mgr.id}", headers=adm, json=patch)
    assert resp.status_code in (200, 204), resp.text
    for h in (held, minted):
        body = assert_error_shape(await manager_client.get("/v1/me", headers=h), 401)
        assert body["error"] == "unauthorized"


async def test_a_new_sign_in_after_the_change_works(manager_client, admin_client, tokens, sm) -> None:
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        mgr = await create_staff(s, role="account_manager", org_unit_id=(await create_branch(s)).id)
    old = await _signed_in(manager_client, mgr.username)
    resp = await admin_client.patch(f"/v1/staff/{mgr.id}", headers=tokens.admin(admin.id), json={"role": "hall_staff"})
    assert resp.status_code == 200, resp.text
    assert_error_shape(await manager_client.get("/v1/me", headers=old), 401)
    new = await _signed_in(manager_client, mgr.username)
    assert (await manager_client.get("/v1/me", headers=new)).json()["role"] == "hall_staff"
    # an unrelated edit (capacity) leaves live sessions alone
    resp = await admin_client.patch(f"/v1/staff/{mgr.id}", headers=tokens.admin(admin.id), json={"capacity": 450})
    assert resp.status_code == 200 and (await manager_client.get("/v1/me", headers=new)).status_code == 200


async def test_another_process_refuses_the_token_at_once(
    manager_client, admin_client, tokens, sm, settings: Settings
) -> None:
    """A second app instance (its own engine and pool, like another uvicorn worker)."""
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        mgr = await create_staff(s, role="account_manager", org_unit_id=(await create_branch(s)).id)
    held = await _signed_in(manager_client, mgr.username)
    other = create_manager_app(settings)
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://w2") as worker2,
    ):
        assert (await worker2.get("/v1/me", headers=held)).status_code == 200
        await admin_client.patch(f"/v1/staff/{mgr.id}", headers=tokens.admin(admin.id), json={"active": False})
        assert_error_shape(await worker2.get("/v1/me", headers=held), 401)


async def test_a_merchant_token_dies_with_the_suspension(alliance_client, admin_client, tokens, sm) -> None:
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        m = await create_merchant(s)
        client_id, secret = await create_merchant_client(s, m.id)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    tok = await alliance_client.post("/v1/oauth/token", data=form)
    held = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    minted = tokens.merchant(m.id)
    for h in (held, minted):
        assert (await alliance_client.get("/v1/offers", headers=h)).status_code == 200
    adm = tokens.admin(admin.id)
    assert (await admin_client.post(f"/v1/alliance/merchants/{m.id}/suspend", headers=with_key(adm))).status_code == 200
    for h in (held, minted):
        assert_error_shape(await alliance_client.get("/v1/offers", headers=h), 401)
    # re-approval does not bring the old tokens back; a fresh one works
    assert (await admin_client.post(f"/v1/alliance/merchants/{m.id}/approve", headers=with_key(adm))).status_code == 200
    assert_error_shape(await alliance_client.get("/v1/offers", headers=held), 401)
    fresh = await alliance_client.post("/v1/oauth/token", data=form)
    assert (
        await alliance_client.get("/v1/offers", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    ).status_code == 200


async def test_a_token_for_an_account_that_does_not_exist_is_refused(manager_client, alliance_client, tokens) -> None:
    assert_error_shape(await manager_client.get("/v1/me", headers=tokens.manager(2_000_000_000)), 401)
    assert_error_shape(await alliance_client.get("/v1/offers", headers=tokens.merchant(2_000_000_000)), 401)
