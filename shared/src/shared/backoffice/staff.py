"""Staff accounts: create, edit, deactivate, set and reset passwords (argon2id, hashed off the loop).

Roles that work inside a branch (account_manager, hall_staff, branch_head) must belong to a
branch. Deactivating an account, changing its role or branch, or changing its password revokes
its refresh tokens and bumps its token version, so its access tokens stop working at commit.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.passwords import hash_secret_async
from shared.backoffice.permissions import ROLES
from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import ManagerAssignment, OrgUnit, RefreshToken, StaffUser

BRANCH_ROLES = frozenset({"account_manager", "hall_staff", "branch_head"})
MIN_PASSWORD = 10


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD or password.isdigit() or password.isalpha():
        raise Unprocessable(
            "password must be at least {min_length} characters and mix letters with digits or symbols",
            min_length=MIN_PASSWORD,
        )


async def _check_org(session: AsyncSession, role: str, org_unit_id: int | None) -> None:
    if role not in ROLES:
        raise Unprocessable("unknown role", role=role)
    if org_unit_id is None:
        if role in BRANCH_ROLES:
            raise Unprocessable("a {role} must belong to a branch", role=role)
        return
    unit = await session.get(OrgUnit, org_unit_id)
    if unit is None:
        raise Unprocessable("unknown org unit", org_unit_id=org_unit_id)
    if role in BRANCH_ROLES and unit.kind != "branch":
        raise Unprocessable("a {role} must belong to a branch, not a {kind}", role=role, kind=unit.kind)


async def list_staff(
    session: AsyncSession,
    *,
    role: str | None = None,
    org_unit_id: int | None = None,
    q: str | None = None,
    active: bool | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[StaffUser]:
    stmt = select(StaffUser).where(StaffUser.id > after).order_by(StaffUser.id).limit(limit)
    if role:
        stmt = stmt.where(StaffUser.role == role)
    if org_unit_id is not None:
        stmt = stmt.where(StaffUser.org_unit_id == org_unit_id)
    if active is not None:
        stmt = stmt.where(StaffUser.active.is_(active))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(StaffUser.username.ilike(like), StaffUser.full_name.ilike(like)))
    return list((await session.scalars(stmt)).all())


async def get_staff(session: AsyncSession, staff_id: int) -> StaffUser:
    user = await session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound("staff user not found", id=staff_id)
    return user


async def load_counts(session: AsyncSession, staff_ids: list[int]) -> dict[int, int]:
    """Assigned-customer count per manager (for the capacity column)."""
    if not staff_ids:
        return {}

    rows = await session.execute(
        select(ManagerAssignment.manager_id, func.count())
        .where(ManagerAssignment.manager_id.in_(staff_ids))
        .group_by(ManagerAssignment.manager_id)
    )
    return {mid: n for mid, n in rows.all()}


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    full_name: str,
    role: str,
    org_unit_id: int | None,
    password: str,
    work_phone: str | None = None,
    capacity: int = 400,
) -> StaffUser:
    """Raises Unprocessable (role/branch/password rules) or Conflict (username taken)."""
    await _check_org(session, role, org_unit_id)
    check_password_strength(password)
    user = StaffUser(
        username=username,
        full_name=full_name,
        role=role,
        org_unit_id=org_unit_id,
        work_phone=work_phone,
        password_hash=await hash_secret_async(password),
        capacity=capacity,
        active=True,
    )
    try:
        async with session.begin_nested():  # a failed insert leaves the caller's transaction usable
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("username is taken", username=username) from exc
    return user


async def revoke_sessions(session: AsyncSession, staff_id: int) -> None:
    """End every session: refresh tokens revoked, access tokens refused (token version bumped)."""
    await session.execute(
        update(StaffUser).where(StaffUser.id == staff_id).values(token_version=StaffUser.token_version + 1)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.subject == f"staff:{staff_id}", RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def update_staff(session: AsyncSession, staff_id: int, **fields: object) -> tuple[StaffUser, dict[str, object]]:
    """Apply the non-None fields; returns the user and old → new values for the audit row."""
    user = await get_staff(session, staff_id)
    role = str(fields.get("role") or user.role)
    org = fields["org_unit_id"] if fields.get("org_unit_id") is not None else user.org_unit_id
    await _check_org(session, role, org)  # type: ignore[arg-type]
    changes: dict[str, object] = {}
    for name, value in fields.items():
        if value is not None and value != getattr(user, name):
            changes[name] = [getattr(user, name), value]
            setattr(user, name, value)
    if changes.get("active") == [True, False] or "role" in changes or "org_unit_id" in changes:
        await revoke_sessions(session, staff_id)
    await session.flush()
    return user, changes


async def set_password(session: AsyncSession, staff_id: int, *, password: str) -> StaffUser:
    check_password_strength(password)
    user = await get_staff(session, staff_id)
    user.password_hash = await hash_secret_async(password)
    await revoke_sessions(session, staff_id)
    await session.flush()
    return user


async def reset_password(session: AsyncSession, staff_id: int) -> tuple[StaffUser, str]:
    """A random temporary password, returned once and stored only as a hash."""
    temporary = f"{secrets.token_urlsafe(9)}-{secrets.randbelow(100)}"
    return await set_password(session, staff_id, password=temporary), temporary
