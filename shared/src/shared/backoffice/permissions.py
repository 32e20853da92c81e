"""The one role → permission table for the back office.

Every admin route depends on `admin_app.auth.can(<permission>)` (or one of the coarse aliases,
which are themselves permissions here), so what a role may do is read from this table and
nowhere else. Account managers and hall staff hold no back-office permission: they cannot sign
in to the admin audience at all (see shared.auth.principals.ADMIN_ROLES).

Branch heads are additionally scoped to their own branch (`branch_scope`): the routes they may
call return only that branch's staff, assignments and customers, and 404 for the rest.
"""

from __future__ import annotations

from types import MappingProxyType

from shared.auth.principals import Principal, holds
from shared.errors import NotFound
from shared.models import StaffRole

ROLES: tuple[str, ...] = (
    "admin",
    "analyst",
    "strategist",
    "operator",
    "branch_head",
    "account_manager",
    "hall_staff",
    "auditor",
)

_READ_CONFIG = {"org.read", "staff.read", "products.read", "ads.read", "campaigns.read", "reports.read", "imports.read"}

_TABLE: dict[str, frozenset[str]] = {
    # Coarse permissions behind the historical aliases in admin_app.auth (used by other routers).
    "any": frozenset(ROLES[:5] + ("auditor",)),
    "admin": frozenset({"admin"}),
    "operate": frozenset({"admin", "operator"}),
    "strategy": frozenset({"admin", "strategist"}),
    "analyse": frozenset({"admin", "analyst", "strategist"}),
    "audit.read": frozenset({"admin", "auditor"}),
    # Organisation and staff.
    "org.read": frozenset({"admin", "analyst", "strategist", "operator", "branch_head", "auditor"}),
    "org.write": frozenset({"admin"}),
    "staff.read": frozenset({"admin", "operator", "branch_head", "auditor"}),
    "staff.write": frozenset({"admin"}),
    "assignments.read": frozenset({"admin", "operator", "branch_head", "analyst"}),
    "assignments.write": frozenset({"admin", "operator", "branch_head"}),
    # Data in.
    "imports.read": frozenset({"admin", "analyst", "auditor"}),
    "imports.write": frozenset({"admin", "analyst"}),
    # Background jobs and their schedules.
    "jobs.read": frozenset({"admin", "analyst", "operator", "auditor"}),
    "jobs.write": frozenset({"admin", "operator"}),
    # Product library and ads.
    "products.read": frozenset({"admin", "analyst", "strategist", "operator", "branch_head", "auditor"}),
    "products.write": frozenset({"admin", "strategist"}),
    "ads.read": frozenset({"admin", "operator", "strategist", "auditor"}),
    "ads.write": frozenset({"admin", "operator"}),
    "ads.approve": frozenset({"admin", "operator"}),
    # Campaigns and reports.
    "campaigns.read": frozenset({"admin", "analyst", "strategist", "operator", "branch_head", "auditor"}),
    "campaigns.write": frozenset({"admin", "strategist"}),
    "campaigns.launch": frozenset({"admin", "operator"}),
    "reports.read": frozenset({"admin", "analyst", "strategist", "operator", "branch_head", "auditor"}),
    # Customer 360.
    "customers.read": frozenset({"admin", "analyst", "strategist", "operator", "branch_head"}),
    "customers.unmask": frozenset({"admin"}),
}

PERMISSIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType(_TABLE)
assert all(r in ROLES for roles in _TABLE.values() for r in roles)
assert set(_TABLE) >= _READ_CONFIG


def roles_with(permission: str) -> tuple[str, ...]:
    """Roles holding `permission`, sorted; KeyError for an unknown permission (a typo fails at import)."""
    return tuple(sorted(PERMISSIONS[permission]))


def permissions_of(role: str) -> list[str]:
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


def allows(principal: Principal, permission: str) -> bool:
    return principal.role in PERMISSIONS[permission]


def branch_scope(principal: Principal) -> int | None:
    """The branch a branch head is limited to; None for roles that see every branch.

    A branch head without a branch sees nothing: -1 matches no org unit.
    """
    if holds(principal, StaffRole.BRANCH_HEAD):
        return principal.org_unit_id if principal.org_unit_id is not None else -1
    return None


def check_branch(principal: Principal, branch_id: int | None, *, what: str = "object") -> None:
    """404 (not 403) when a branch head reaches outside their branch: do not reveal it exists."""
    scope = branch_scope(principal)
    if scope is not None and branch_id != scope:
        raise NotFound(
            "customer not found"
            if what == "customer"
            else "staff user not found"
            if what == "staff user"
            else "not found"
        )
