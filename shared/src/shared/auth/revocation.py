"""Is a staff or merchant token still backed by an account in good standing?

Access tokens live `access_ttl_s`; deactivating, demoting or moving a staff member, changing
their password, or suspending a merchant must end their tokens at once, in every worker process.
Each such change bumps the account's `token_version` in the same transaction; a token carries the
version it was issued with, and this one primary-key lookup per request compares the two, so
there is no cache to go stale. Customer tokens are not checked (the check-in hot path).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principals import Principal
from shared.models import Merchant, StaffUser


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
