"""Demo data for the manager app: the programme settings it reads (incentive rules, birthday
greeting text). Idempotent: existing settings are left as the back office set them."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.manager.greetings import DEFAULT_BIRTHDAY_TEMPLATE
from shared.manager.incentives import DEFAULT_RULES, SETTING_KEY
from shared.models import ProgrammeSetting

ORDER = 90


async def seed(session: AsyncSession) -> None:
    for key, value in ((SETTING_KEY, dict(DEFAULT_RULES)), ("birthday_greeting", {"template": DEFAULT_BIRTHDAY_TEMPLATE})):
        await session.execute(insert(ProgrammeSetting).values(key=key, value=value).on_conflict_do_nothing(index_elements=["key"]))
