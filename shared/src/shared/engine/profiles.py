"""Stage: customer_profiles (stage, segment, cluster, four-high, channel), one upsert per chunk.

Reads the churn stage's `risk_level` when present; with no churn scores yet, the segment and
stage rules fall back on the raw signals (falling ARPU, competitor calls, complaints).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount
from shared.engine import clusters
from shared.engine.jobs import RunContext, run_chunks, sql
from shared.programme import settings as programme_settings

_DELETE_GONE = text(
    """
    DELETE FROM customer_profiles p
    WHERE p.customer_id > :lo AND p.customer_id <= :hi
      AND NOT EXISTS (SELECT 1 FROM customer_features f WHERE f.customer_id = p.customer_id)
    """
)


async def run(ctx: RunContext) -> int:
    async with ctx.sm() as s:
        thresholds = await programme_settings.get(s, "segments")
        assign = await clusters.assignment_sql(s)
    cluster_params: dict[str, float]
    if assign is None:
        lateral, cluster_expr, vector_expr, cluster_params = "", "CAST(NULL AS int)", "CAST(NULL AS float8[])", {}
    else:
        (lateral, cluster_expr, cluster_params), vector_expr = assign, clusters.scaled_vector_sql()
    stmt = text(
        sql("profiles")
        .replace("{cluster_expr}", cluster_expr)
        .replace("{vector_expr}", vector_expr)
        .replace("{distance_lateral}", lateral)
    )
    params = {**thresholds, **cluster_params, "run_date": ctx.run_date}

    async def work(s: AsyncSession, lo: int, hi: int) -> int:
        await s.execute(_DELETE_GONE, {"lo": lo, "hi": hi})
        result = await s.execute(stmt, {**params, "lo": lo, "hi": hi})
        return max(rowcount(result), 0)

    n = await run_chunks(ctx, work)
    await clusters.refresh_populations(ctx)
    return n
