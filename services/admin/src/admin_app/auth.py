"""Principal aliases for the back office, all read from shared.backoffice.permissions (one table).

Roles: admin, analyst, strategist, operator, auditor, branch_head. `can("campaigns.launch")` gives
the dependency for one fine-grained permission.
"""

from shared.backoffice.permissions import roles_with
from shared.web.deps import require


def can(permission: str):  # type: ignore[no-untyped-def]
    """Annotated principal dependency admitting exactly the roles the table grants `permission`."""
    return require(*roles_with(permission))


AnyStaff = can("any")
AdminOnly = can("admin")
Operators = can("operate")
Strategists = can("strategy")
Analysts = can("analyse")
Auditors = can("audit.read")
