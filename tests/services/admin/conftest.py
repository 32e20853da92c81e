"""Staff of every back-office role (real rows, so created_by / actor ids resolve) and their tokens."""

from __future__ import annotations

import pytest

from tests.fixtures.factories import create_org, create_staff

ROLES = ("admin", "analyst", "strategist", "operator", "branch_head", "auditor")


@pytest.fixture
async def org(sm):  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        return await create_org(s)


@pytest.fixture
async def staff(sm, org):  # type: ignore[no-untyped-def]
    """role → StaffUser; the branch head heads the fixture's branch."""
    out = {}
    async with sm.begin() as s:
        for role in ROLES:
            out[role] = await create_staff(s, role=role, org_unit_id=org[2].id if role == "branch_head" else None)
    return out


@pytest.fixture
def auth(staff, tokens):  # type: ignore[no-untyped-def]
    """role → Authorization header for the admin audience."""
    return {role: tokens.admin(user.id, role, user.org_unit_id) for role, user in staff.items()}
