"""Staff and organisation rules: branch roles need a branch, weak passwords refused, sessions
revoked on deactivation or password change, the org hierarchy is enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from shared.auth.passwords import verify_secret
from shared.auth.principals import Audience, Principal
from shared.backoffice import org as org_service
from shared.backoffice import staff as staff_service
from shared.backoffice.permissions import branch_scope, check_branch, permissions_of, roles_with
from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import RefreshToken
from tests.fixtures.factories import create_org


async def test_branch_roles_need_a_branch_and_strong_password(db) -> None:
    dept, centre, branch = await create_org(db)
    with pytest.raises(Unprocessable):
        await staff_service.create_staff(
            db, username="h1x", full_name="x", role="branch_head", org_unit_id=centre.id, password="Good-pass-123"
        )
    with pytest.raises(Unprocessable):
        await staff_service.create_staff(
            db, username="h2x", full_name="x", role="analyst", org_unit_id=None, password="12345678901"
        )
    user = await staff_service.create_staff(
        db,
        username=f"head-{branch.id}",
        full_name="x",
        role="branch_head",
        org_unit_id=branch.id,
        password="Good-pass-123",
    )
    assert (await verify_secret(user.password_hash, "Good-pass-123"))[0]


async def test_deactivation_and_password_change_revoke_refresh_tokens(db) -> None:
    user = await staff_service.create_staff(
        db,
        username=f"op-{datetime.now().timestamp()}",
        full_name="x",
        role="operator",
        org_unit_id=None,
        password="Good-pass-123",
    )
    for n in range(2):
        db.add(
            RefreshToken(
                jti=f"j{user.id}-{n}",
                family_id="f",
                subject=f"staff:{user.id}",
                audience="admin",
                claims={},
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
    await db.flush()
    await staff_service.update_staff(db, user.id, active=False)
    live = await db.scalar(
        text("SELECT count(*) FROM refresh_tokens WHERE subject = :s AND revoked_at IS NULL"), {"s": f"staff:{user.id}"}
    )
    assert live == 0
    _, temp = await staff_service.reset_password(db, user.id)
    assert (await verify_secret(user.password_hash, temp))[0]


async def test_org_hierarchy(db) -> None:
    dept, centre, branch = await create_org(db)
    with pytest.raises(Unprocessable):
        await org_service.create_unit(
            db, kind="support_centre", code=f"SC-{branch.id}-z", name="x", parent_id=branch.id
        )
    with pytest.raises(Conflict):
        await org_service.create_unit(db, kind="branch", code=branch.code, name="dup", parent_id=centre.id)
    with pytest.raises(Conflict):
        await org_service.delete_unit(db, dept.id)


def test_permission_helpers() -> None:
    head = Principal("staff", 1, "branch_head", Audience.ADMIN, 7)
    assert branch_scope(head) == 7 and branch_scope(Principal("staff", 1, "admin", Audience.ADMIN)) is None
    assert branch_scope(Principal("staff", 1, "branch_head", Audience.ADMIN)) == -1
    check_branch(head, 7)
    with pytest.raises(NotFound):
        check_branch(head, 8)
    assert "audit.read" in permissions_of("auditor") and roles_with("customers.unmask") == ("admin",)
    with pytest.raises(KeyError):
        roles_with("no.such.permission")
