"""`GET /v1/me` for staff audiences (manager app and back office).

`permissions` are the caller's back-office permissions (shared.backoffice.permissions), so the
console shows exactly the screens and buttons the API would allow; empty for manager-app roles.
"""

from typing import cast

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from shared.auth.principals import Principal
from shared.backoffice.permissions import permissions_of
from shared.errors import NotFound
from shared.models import OrgUnit, StaffUser
from shared.web.deps import ReadSession


class StaffMeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    org_unit_id: int | None
    org_unit_name: str | None
    permissions: list[str] = []


def staff_me_router(current: object) -> APIRouter:
    """`current` is the service's principal alias (an Annotated dependency)."""
    router = APIRouter(prefix="/v1", tags=["account"])

    @router.get("/me", response_model=StaffMeOut, summary="Who am I")
    async def me(principal: current, session: ReadSession) -> StaffMeOut:  # type: ignore[valid-type]
        staff_id = cast(Principal, principal).id  # `current` resolves to a Principal; mypy cannot read the alias
        row = (
            await session.execute(
                select(StaffUser, OrgUnit.name)
                .outerjoin(OrgUnit, OrgUnit.id == StaffUser.org_unit_id)
                .where(StaffUser.id == staff_id)
            )
        ).first()
        if row is None:
            raise NotFound("staff user not found")
        user, org_name = row
        return StaffMeOut(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            org_unit_id=user.org_unit_id,
            org_unit_name=org_name,
            permissions=permissions_of(user.role),
        )

    return router
