"""Published programme rules (programme_settings rows) and their defaults.

The back office edits these through the admin API; every reader falls back to the defaults below,
so a fresh database behaves sensibly. Values are JSON objects validated on write by the admin
schemas; readers stay tolerant (missing keys take the default).
"""
from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ProgrammeSetting

POINTS_EXPIRY = "points_expiry"
POINTS_ACCRUAL = "points_accrual"
CHECKIN_RULES = "checkin_rules"
POINTS_EXCHANGE = "points_exchange"

DEFAULTS: dict[str, dict[str, Any]] = {
    # Points earned in year Y expire at the end of year Y + years_after ("end_of_year"), or
    # `months` after the earning month ends ("rolling_months").
    POINTS_EXPIRY: {"mode": "end_of_year", "years_after": 1, "months": 24},
    # Monthly accrual: points per yuan billed, by tier, plus a tenure bonus per full year (capped).
    POINTS_ACCRUAL: {
        "per_yuan": {"star1": 1, "star2": 1, "star3": 1, "star4": 1.2, "star5": 1.5, "gold": 2, "diamond": 3},
        "tenure_points_per_year": 5,
        "tenure_cap_years": 10,
        "max_points_per_month": 5000,
    },
    # Points spent on airtime: fen credited per point, smallest exchange.
    POINTS_EXCHANGE: {"airtime_fen_per_point": 1, "min_points": 1, "enabled": True},
    # Check-in: rewards[i] is paid on streak day i+1 (cyclic), make-up of missed days optional.
    CHECKIN_RULES: {
        "rewards": [5, 5, 5, 10, 5, 5, 30],
        "makeup": {"enabled": True, "max_days_back": 3, "cost_points": 20, "max_per_month": 2},
    },
}


async def get_setting(session: AsyncSession, key: str) -> dict[str, Any]:
    """The published value merged over the default (top-level keys)."""
    value = await session.scalar(select(ProgrammeSetting.value).where(ProgrammeSetting.key == key))
    merged = dict(DEFAULTS.get(key, {}))
    if isinstance(value, dict):
        merged.update(value)
    return merged


async def put_setting(session: AsyncSession, key: str, value: dict[str, Any], *, staff_id: int | None) -> None:
    """Publish a rule (upsert). Callers audit the change in the same transaction."""
    stmt = insert(ProgrammeSetting).values(key=key, value=value, updated_by=staff_id)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_by": staff_id})
    )


def expires_on(rule: dict[str, Any], earned_on: date) -> date:
    """Last valid day of points earned on `earned_on`; they are expired from the next day.

    Must agree with `EXPIRES_ON_SQL` (the check-in statement computes it in SQL).
    """
    if rule.get("mode") == "rolling_months":
        months = int(rule.get("months", 24))
        y, m = divmod(earned_on.month - 1 + months, 12)
        year, month = earned_on.year + y, m + 1
        return date(year, month, calendar.monthrange(year, month)[1])
    return date(earned_on.year + int(rule.get("years_after", 1)), 12, 31)


# SQL twin of `expires_on` over a JSON rule `r` and a date `d` (used inside single-statement writes).
EXPIRES_ON_SQL = """
CASE WHEN {r}->>'mode' = 'rolling_months'
     THEN (date_trunc('month', {d}::date)
           + make_interval(months => coalesce(({r}->>'months')::int, 24) + 1) - interval '1 day')::date
     ELSE make_date(extract(year FROM {d}::date)::int + coalesce(({r}->>'years_after')::int, 1), 12, 31)
END"""
