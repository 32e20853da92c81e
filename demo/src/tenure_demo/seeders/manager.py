"""Demo data for the manager app: the programme settings it reads (incentive rules, birthday
greeting text). Idempotent: existing settings are left as the back office set them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.programme import settings as programme_settings

ORDER = 90


async def seed(session: AsyncSession) -> None:
    for key in (programme_settings.MANAGER_INCENTIVES, programme_settings.BIRTHDAY_GREETING):
        await programme_settings.publish_defaults(session, key)
