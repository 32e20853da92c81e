"""Organisation units: market department → product support centre → county branch.

The hierarchy is fixed (a branch hangs under a support centre, a centre under the market
department), so reports can roll branches up without recursion. Codes are unique; a unit that
still has children, staff or customers cannot be deleted (Conflict).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import Customer, OrgUnit, StaffUser

PARENT_KIND = {"market_dept": None, "support_centre": "market_dept", "branch": "support_centre"}


async def list_units(session: AsyncSession, *, kind: str | None = None, only_id: int | None = None) -> list[OrgUnit]:
    stmt = select(OrgUnit).order_by(OrgUnit.id)
    if kind:
        stmt = stmt.where(OrgUnit.kind == kind)
    if only_id is not None:
        stmt = stmt.where(OrgUnit.id == only_id)
    return list((await session.scalars(stmt)).all())


async def get_unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("org unit not found", id=unit_id)
    return unit


async def _check_parent(session: AsyncSession, kind: str, parent_id: int | None) -> None:
    want = PARENT_KIND[kind]
    if want is None:
        if parent_id is not None:
            raise Unprocessable("a market department has no parent")
        return
    if parent_id is None:
        raise Unprocessable("a {kind} needs a parent {parent_kind}", kind=kind, parent_kind=want)
    parent = await session.get(OrgUnit, parent_id)
    if parent is None or parent.kind != want:
        raise Unprocessable(
            "the parent of a {kind} must be a {parent_kind}", parent_id=parent_id, kind=kind, parent_kind=want
        )


async def create_unit(session: AsyncSession, *, kind: str, code: str, name: str, parent_id: int | None) -> OrgUnit:
    """Raises Unprocessable for a wrong parent, Conflict for a duplicate code."""
    await _check_parent(session, kind, parent_id)
    unit = OrgUnit(kind=kind, code=code, name=name, parent_id=parent_id)
    try:
        async with session.begin_nested():  # a failed insert leaves the caller's transaction usable
            session.add(unit)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("an org unit with this code exists", code=code) from exc
    return unit


async def update_unit(
    session: AsyncSession,
    unit_id: int,
    *,
    name: str | None = None,
    code: str | None = None,
    parent_id: int | None = None,
) -> tuple[OrgUnit, dict[str, object]]:
    """Returns the unit and the changed fields (old → new) for the audit row."""
    unit = await get_unit(session, unit_id)
    changes: dict[str, object] = {}
    if parent_id is not None and parent_id != unit.parent_id:
        await _check_parent(session, unit.kind, parent_id)
        changes["parent_id"] = [unit.parent_id, parent_id]
        unit.parent_id = parent_id
    for field, value in (("name", name), ("code", code)):
        if value is not None and value != getattr(unit, field):
            changes[field] = [getattr(unit, field), value]
            setattr(unit, field, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("an org unit with this code exists", code=code) from exc
    return unit, changes


async def delete_unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    unit = await get_unit(session, unit_id)
    in_use = {
        "children": await session.scalar(select(func.count()).where(OrgUnit.parent_id == unit_id)),
        "staff": await session.scalar(select(func.count()).where(StaffUser.org_unit_id == unit_id)),
        "customers": await session.scalar(select(func.count()).where(Customer.branch_id == unit_id)),
    }
    if any(in_use.values()):
        raise Conflict("the org unit is still in use", **in_use)
    await session.delete(unit)
    await session.flush()
    return unit
