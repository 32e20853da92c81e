"""Stage 1: the feature view (`customer_features`), one upsert per id chunk.

Rows whose values did not change are not rewritten (`IS DISTINCT FROM`), so a rerun on the same
day writes nothing; customers who churned since the last run are deleted from the view.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.db.results import rowcount
from shared.engine.jobs import RunContext, run_chunks, sql
from shared.models import CustomerFeatures
from shared.touches.outcomes import RESPONSE_OUTCOMES
from shared.touches.service import OUTBOUND_CHANNELS

COLUMNS = [c.name for c in CustomerFeatures.__table__.columns if c.name != "computed_at"]
_VALUES = [c for c in COLUMNS if c != "customer_id"]


def _upsert() -> str:
    cols = ", ".join(COLUMNS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _VALUES)
    old = ", ".join(f"customer_features.{c}" for c in _VALUES)
    new = ", ".join(f"EXCLUDED.{c}" for c in _VALUES)
    return (
        f"INSERT INTO customer_features ({cols}) SELECT {cols} FROM ({sql('features')}) AS src "
        f"ON CONFLICT (customer_id) DO UPDATE SET {sets}, computed_at = now() "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )


_DELETE_GONE = text(
    """
    DELETE FROM customer_features f
    WHERE f.customer_id > :lo AND f.customer_id <= :hi
      AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = f.customer_id AND c.status <> 'churned')
    """
)


def _months_back(month: date, n: int) -> date:
    y, m = divmod(month.year * 12 + month.month - 1 - n, 12)
    return date(y, m + 1, 1)


async def latest_usage_month(session: AsyncSession, run_date: date) -> date:
    """The newest month with usage rows on or before `run_date` (partition-pruned probes)."""
    month = run_date.replace(day=1)
    for _ in range(13):
        found = await session.scalar(text("SELECT 1 FROM monthly_usage WHERE month = :m LIMIT 1"), {"m": month})
        if found:
            return month
        month = _months_back(month, 1)
    return run_date.replace(day=1)


async def run(ctx: RunContext) -> int:
    async with ctx.sm() as s:
        last = await latest_usage_month(s, ctx.run_date)
    ctx.notes["last_usage_month"] = last.isoformat()
    params = {
        **ctx.params(),
        "last_month": last,
        "m3": _months_back(last, 3),
        "m6": _months_back(last, 6),
        "success_outcomes": list(RESPONSE_OUTCOMES),  # the channel a customer answers (seed 002 通路偏好)
        "outbound": sorted(OUTBOUND_CHANNELS),  # touches_this_month: the same channels the single-touch check counts
    }
    params["month_start_ts"] = clock.local_midnight(ctx.month_start)
    upsert = text(_upsert())

    async def work(s: AsyncSession, lo: int, hi: int) -> int:
        await s.execute(_DELETE_GONE, {"lo": lo, "hi": hi})
        result = await s.execute(upsert, {**params, "lo": lo, "hi": hi})
        return max(rowcount(result), 0)

    return await run_chunks(ctx, work)
