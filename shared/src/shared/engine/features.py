"""Stage 1: the feature view (`customer_features`), one upsert per id chunk.

Rows whose values did not change are not rewritten (`IS DISTINCT FROM`), so a rerun on the same
day writes nothing; customers who churned since the last run are deleted from the view.
An incremental night (shared.engine.incremental) recomputes the customers whose input rows
changed since the last pass and those a moving window reached: `CROSSING` lists every place the
run day enters the SQL. The usage months and the month start are the key: a new month is a full
night.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import incremental, tiers
from shared.engine.incremental import age_moved, changed_in, subset_sql
from shared.engine.jobs import RunContext, sql
from shared.models import CustomerFeatures
from shared.touches.outcomes import RESPONSE_OUTCOMES
from shared.touches.service import OUTBOUND_CHANNELS

COLUMNS = [c.name for c in CustomerFeatures.__table__.columns if c.name != "computed_at"]
_VALUES = [c for c in COLUMNS if c not in ("customer_id", "tier")]
"""`tier` is the tiers stage's (it reads this view and writes both copies). A new row starts
from the tier the rules give it, which the tiers stage then writes to the customer: starting it
from the customer's own (the loader's) tier made the tiers stage rewrite every new feature row,
890k rows of a 1M cold run. An existing row's tier is never written here."""


def _upsert() -> str:
    cols = ", ".join(COLUMNS)
    picked = ", ".join(f"{tiers.rule_tier('src')} AS tier" if c == "tier" else c for c in COLUMNS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _VALUES)
    old = ", ".join(f"customer_features.{c}" for c in _VALUES)
    new = ", ".join(f"EXCLUDED.{c}" for c in _VALUES)
    return (
        f"INSERT INTO customer_features ({cols}) SELECT {picked} FROM ({sql('features')}) AS src "
        f"ON CONFLICT (customer_id) DO UPDATE SET {sets}, computed_at = now() "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )


_DELETE_GONE = """
    DELETE FROM customer_features f
    WHERE f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/
      AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = f.customer_id AND c.status <> 'churned'
                        AND c.id > :lo AND c.id <= :hi /*subset c.id*/)
"""

CHANGED = [
    # a customer row whose copied facts differ from the view's (the tiers stage's own writes to
    # customers.tier change nothing here, and would otherwise make every re-tiered customer "changed")
    """SELECT c.id FROM customers c LEFT JOIN customer_features f ON f.customer_id = c.id
       WHERE c.updated_at >= :since
         AND ((f.customer_id IS NULL) <> (c.status = 'churned')
              OR (c.branch_id, c.plan_id, c.gender, c.birthday, c.join_date, c.contract_end, c.do_not_disturb)
                 IS DISTINCT FROM (f.branch_id, f.plan_id, f.gender, f.birthday, f.join_date, f.contract_end,
                                   f.do_not_disturb))""",
    *(
        changed_in(t)
        for t in ("monthly_usage", "complaints", "competitor_calls", "handsets", "subscriptions", "touches")
    ),
]
# Every place features.sql reads the run day, as "the answer differs between :prev_day and :day"
# (window edges as the half-open ranges that left or entered the window).
CROSSING = [
    # age_years, tenure_months, handset_changes_12m's join-date term (each age() behind its cheap
    # necessary condition, incremental.age_moved: age() over every customer was 1.8 s of a 1M night)
    f"""SELECT id FROM customers
       WHERE {age_moved("birthday", "year")} OR {age_moved("join_date", "month", "year")}
          OR (join_date > CAST(:prev_day AS date) - 365 AND join_date <= CAST(:day AS date) - 365)""",
    """SELECT customer_id FROM complaints
       WHERE (occurred_at > CAST(:prev_as_of AS timestamptz) - interval '90 days' AND occurred_at <= CAST(:as_of AS timestamptz) - interval '90 days')
          OR (occurred_at > CAST(:prev_as_of AS timestamptz) AND occurred_at <= CAST(:as_of AS timestamptz))""",
    """SELECT customer_id FROM competitor_calls
       WHERE (called_at > CAST(:prev_as_of AS timestamptz) - interval '90 days' AND called_at <= CAST(:as_of AS timestamptz) - interval '90 days')
          OR (called_at > CAST(:prev_as_of AS timestamptz) - interval '30 days' AND called_at <= CAST(:as_of AS timestamptz) - interval '30 days')
          OR (called_at > CAST(:prev_as_of AS timestamptz) AND called_at <= CAST(:as_of AS timestamptz))""",
    """SELECT customer_id FROM touches
       WHERE (occurred_at > CAST(:prev_as_of AS timestamptz) - interval '180 days' AND occurred_at <= CAST(:as_of AS timestamptz) - interval '180 days')
          OR (occurred_at > CAST(:prev_as_of AS timestamptz) - interval '30 days' AND occurred_at <= CAST(:as_of AS timestamptz) - interval '30 days')
          OR (occurred_at > CAST(:prev_as_of AS timestamptz) AND occurred_at <= CAST(:as_of AS timestamptz))""",
    # the latest handset (started_on <= day), its age in months, handset changes in 12 months
    f"""SELECT customer_id FROM handsets
       WHERE (started_on > CAST(:prev_day AS date) AND started_on <= CAST(:day AS date))
          OR (started_on > CAST(:prev_day AS date) - 365 AND started_on <= CAST(:day AS date) - 365)
          OR {age_moved("started_on", "month", "year")}""",
    # silent services: not used for 30 days
    """SELECT customer_id FROM subscriptions
       WHERE status = 'active' AND coalesce(last_used_on, starts_on) >= CAST(:prev_day AS date) - 30
         AND coalesce(last_used_on, starts_on) < CAST(:day AS date) - 30""",
]


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
    async with own_transaction(ctx.sm) as s:
        await tiers.seed_default_rules(s)  # a new row's tier follows them (see _VALUES)
        plans = await incremental.config_hash(s, "SELECT id, monthly_fee_fen FROM products ORDER BY id")
    key = {"last_month": last, "month_start": ctx.month_start, "plans": plans}
    p = await incremental.plan(
        ctx, "features", key, changed=CHANGED, crossing=CROSSING, needs_rows_in="customer_features"
    )
    upsert = text(subset_sql(_upsert(), p.subset))
    delete_gone = text(subset_sql(_DELETE_GONE, p.subset))

    async def work(s: AsyncSession, lo: int, hi: int, ids: list[int] | None) -> int:
        bound = {"lo": lo, "hi": hi, "ids": ids}
        await s.execute(delete_gone, bound)
        result = await s.execute(upsert, {**params, **bound})
        return max(rowcount(result), 0)

    n = await incremental.run_pass(ctx, p, work)
    await incremental.finish(ctx, p)
    return n
