"""Who is calling: one principal type for every audience, with the fields scoping rules need."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from shared.errors import Forbidden
from shared.models.org import StaffRole


class Audience(StrEnum):
    CUSTOMER = "customer-app"
    MANAGER = "manager-app"
    ALLIANCE = "alliance"
    ADMIN = "admin"


CUSTOMER_ROLE = "customer"
MERCHANT_ROLE = "merchant"
MANAGER_APP_ROLES = frozenset({"account_manager", "branch_head", "hall_staff"})
ADMIN_ROLES = frozenset({"admin", "analyst", "strategist", "operator", "auditor", "branch_head"})
VERSIONED_KINDS = frozenset({"staff", "merchant"})


class HasRole(Protocol):
    """A principal or a staff row: whatever carries a role name."""

    @property
    def role(self) -> str: ...


def holds(who: HasRole, role: StaffRole) -> bool:
    """Role decisions are asked here, so no domain compares role names itself (conventions lint)."""
    return who.role == role


def is_account_manager(who: HasRole) -> bool:
    """The one role customers are assigned to and KPIs are kept for."""
    return holds(who, StaffRole.ACCOUNT_MANAGER)


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # customer / staff / merchant
    id: int
    role: str
    audience: str
    org_unit_id: int | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    # staff and merchants: the account's token_version when the token was issued; the auth
    # dependency refuses the token once the account's version moved on (deactivated, demoted,
    # suspended, password changed)
    token_version: int = 0

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_customer(self) -> bool:
        return self.kind == "customer"

    @property
    def is_versioned(self) -> bool:
        """Staff and merchant tokens are checked against the account on every request."""
        return self.kind in VERSIONED_KINDS


def audience_for_staff_role(role: str, requested: Audience) -> Audience:
    """Staff log in to the app their role belongs to; branch heads may use both."""
    if requested == Audience.MANAGER and role in MANAGER_APP_ROLES:
        return requested
    if requested == Audience.ADMIN and role in ADMIN_ROLES:
        return requested

    raise Forbidden("this role cannot sign in to this application", role=role)
