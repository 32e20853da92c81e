"""Points rule arithmetic: when points earned on a day expire, in Python and as its SQL twin.

The rules themselves (`points_expiry`, `points_accrual`, ...) are programme settings, read and
written through `shared.programme.settings`.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any


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
