"""Local time: the programme's days and months are days and months in `settings.timezone`
(Asia/Shanghai, no daylight saving). Python code turns an instant into a local date only here;
SQL that needs the zone binds `TZ_NAME` as a parameter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.settings import get_settings

TZ_NAME: str = get_settings().timezone
TZ = ZoneInfo(TZ_NAME)


def now() -> datetime:
    """The current instant, timezone-aware, in local time."""
    return datetime.now(TZ)


def today() -> date:
    """The local calendar day (check-in days, expiry days, run dates, KPI months)."""
    return datetime.now(TZ).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    idx = month.year * 12 + month.month - 1 + n
    return date(idx // 12, idx % 12 + 1, 1)


def local_midnight(day: date) -> datetime:
    """The instant a local day starts (timezone-aware), for comparing with timestamptz columns."""
    return datetime.combine(day, time.min, tzinfo=TZ)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = month_start(month)
    return local_midnight(start), local_midnight(add_months(start, 1))


def month_end_day(month: date) -> date:
    return add_months(month_start(month), 1) - timedelta(days=1)
