"""Is a staff or merchant token still backed by an account in good standing?

Access tokens live `access_ttl_s`; deactivating, demoting or moving a staff member, changing
their password, or suspending a merchant must end their tokens at once, in every worker process.
Each such change bumps the account's `token_version` in the same transaction; a token carries the
version it was issued with, and one primary-key lookup per request compares the two, so there is
no cache to go stale: the next request after the revoking commit is refused, in every process.
Customer tokens are not checked (the check-in hot path).

The request path (`is_current_on`) runs that lookup as one raw statement on a pooled asyncpg
connection (`shared.db.native.pooled`, the hot-path style of shared.db.transactions): an ORM select
on a session of its own cost ~7 % of a manager-app worker's CPU, the raw statement a fraction of it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.auth.principals import Principal
from shared.db import native
from shared.models import Merchant, StaffUser

_STAFF_SQL = "SELECT 1 FROM staff_users WHERE id = $1 AND active AND token_version = $2"
_MERCHANT_SQL = "SELECT 1 FROM merchants WHERE id = $1 AND status = 'approved' AND token_version = $2"


async def is_current(session: AsyncSession, principal: Principal) -> bool:
    """True for customers; for staff and merchants, the account is live at the token's version."""
    if principal.kind == "staff":
        stmt = select(StaffUser.id).where(
            StaffUser.id == principal.id, StaffUser.active, StaffUser.token_version == principal.token_version
        )
    elif principal.kind == "merchant":
        stmt = select(Merchant.id).where(
            Merchant.id == principal.id,
            Merchant.status == "approved",
            Merchant.token_version == principal.token_version,
        )
    else:
        return True
    return await session.scalar(stmt) is not None


async def is_current_on(engine: AsyncEngine, principal: Principal) -> bool:
    """`is_current` as one statement on a pooled connection (autocommit: no BEGIN/ROLLBACK round
    trips, and it sees every committed revocation), returned to the pool before the route runs."""
    if principal.kind == "staff":
        sql = _STAFF_SQL
    elif principal.kind == "merchant":
        sql = _MERCHANT_SQL
    else:
        return True
    async with native.pooled(engine) as driver:
        row = await driver.fetchrow(sql, principal.id, principal.token_version)
    return row is not None
