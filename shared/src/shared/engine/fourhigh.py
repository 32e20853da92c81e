"""Four-high anomalies (seed 004): high tariff, high pay-per-use data, high silence, high ARPU
mismatch. Thresholds live in programme_settings `four_high`; flags are kept per day and per usage
month (period = the month's last day), with `cared_at` set when a four-high care task is done and
`normalised_on` when the behaviour returned to normal afterwards. The monthly list reads
customer_features (monthly_usage); the daily list reads the month to date in daily_usage,
pro-rated against the allowance (sql/four_high.sql), so it moves with the month, not with last
month's bill.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.db.results import rowcount
from shared.engine.features import latest_usage_month
from shared.engine.jobs import RunContext, run_chunks, sql
from shared.errors import Unprocessable
from shared.programme import settings as programme_settings

KINDS = ("tariff", "payg_data", "silence", "arpu_mismatch")


def month_period(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def daily_window(run_date: date, min_days: int) -> dict[str, object]:
    """The daily list's window: the run day's month up to the day before (the run day's usage is
    not in yet), at least `min_days` days (reaching back into last month early in a month);
    `w_frac` is its share of the run day's month, the factor monthly allowances and amounts are
    pro-rated by."""
    start = min(run_date.replace(day=1), run_date - timedelta(days=max(min_days, 1)))
    days_in_month = calendar.monthrange(run_date.year, run_date.month)[1]
    return {"w_start": start, "w_frac": (run_date - start).days / days_in_month}


async def run(ctx: RunContext) -> int:

    async with ctx.sm() as s:
        thresholds = await programme_settings.get(s, "four_high")
        last = await latest_usage_month(s, ctx.run_date)
    period = month_period(last)
    params = {
        **{k: v for k, v in thresholds.items() if k != "daily_min_days"},
        **daily_window(ctx.run_date, int(thresholds.get("daily_min_days", 7))),
        "run_date": ctx.run_date,
        "last_month": last,
        "month_period": period,
        "month_end_ts": clock.local_midnight(period + timedelta(days=1)),
    }
    stmt = text(sql("four_high"))

    async def work(s: AsyncSession, lo: int, hi: int) -> int:
        return int(await s.scalar(stmt, {**params, "lo": lo, "hi": hi}) or 0)

    return await run_chunks(ctx, work)


async def mark_cared(session: AsyncSession, customer_id: int, kind: str) -> int:
    """Record that a four-high care contact happened now for this customer and anomaly kind.

    Marks every open (not yet cared, not normalised) flag row of that kind; returns how many.
    Called by the manager app when a `four_high` care task is completed, in its transaction.
    Raises Unprocessable for an unknown kind.
    """
    if kind not in KINDS:
        raise Unprocessable("unknown four-high kind", kind=kind, allowed=list(KINDS))
    result = await session.execute(
        text(
            "UPDATE four_high_flags SET cared_at = now() "
            "WHERE customer_id = :c AND kind = :k AND cared_at IS NULL AND normalised_on IS NULL"
        ),
        {"c": customer_id, "k": kind},
    )
    return rowcount(result)


async def counts_over_time(session: AsyncSession, *, granularity: str, since: date, until: date) -> list[dict]:
    """Flag counts per period and kind. granularity 'day' lists run days; 'month' lists month ends."""
    month_end = "period = (date_trunc('month', period) + interval '1 month - 1 day')::date"
    where = month_end if granularity == "month" else "true"
    rows = await session.execute(
        text(
            f"SELECT period, kind, count(*) AS n, count(cared_at) AS cared, count(normalised_on) AS normalised "
            f"FROM four_high_flags WHERE period BETWEEN :a AND :b AND {where} GROUP BY period, kind ORDER BY period, kind"
        ),
        {"a": since, "b": until},
    )
    return [dict(r._mapping) for r in rows]


async def care_effect(session: AsyncSession, *, since: date | None = None) -> dict:
    """Share of cared-for customers (per kind and overall) whose behaviour returned to normal."""
    rows = await session.execute(
        text(
            """
            SELECT coalesce(kind, 'all') AS kind, count(DISTINCT customer_id) AS cared,
                   count(DISTINCT customer_id) FILTER (WHERE normalised_on IS NOT NULL) AS normalised
            FROM four_high_flags
            WHERE cared_at IS NOT NULL AND (CAST(:since AS date) IS NULL OR cared_at >= CAST(:since AS date))
            GROUP BY ROLLUP (kind)
            """
        ),
        {"since": since},
    )
    out = {}
    for r in rows:
        out[r.kind] = {
            "cared": r.cared,
            "normalised": r.normalised,
            "share": round(r.normalised / r.cared, 4) if r.cared else None,
        }
    return out
