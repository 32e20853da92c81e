"""Care tasks for account managers (seed 001/002): monthly routine care, birthday and holiday
greetings (holiday calendar in `holidays`, editable in the back office), churn-risk retention and
four-high care; each with due date, reason, suggested product and script (churn retention: the
offer fitting the cause within the customer's budget, shared.engine.retention_offers). `dedupe_key` is UNIQUE,
so a rerun never duplicates a task. Open tasks follow their customer to a new manager and are
cancelled when the customer no longer has one.
"""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import retention_offers
from shared.engine.features import latest_usage_month
from shared.engine.fourhigh import month_period
from shared.engine.jobs import RunContext, sql, tune
from shared.programme import settings as programme_settings

GREETINGS = {
    "元旦": "{name},新年快乐!感谢您一年来的陪伴,祝您新的一年万事顺意。",
    "春节": "{name},春节快乐!给您拜年了,祝您阖家幸福、龙马精神。",
    "元宵节": "{name},元宵节快乐!愿您团团圆圆、甜甜蜜蜜。",
    "清明节": "{name},清明时节,出行请注意安全,愿您和家人平安顺遂。",
    "端午节": "{name},端午安康!祝您和家人健康平安。",
    "中秋节": "{name},中秋快乐!月圆人团圆,祝您阖家幸福。",
    "国庆节": "{name},国庆快乐!假期出行流量不够可随时找我办理。",
}
HOLIDAYS: list[tuple[date, str]] = [
    (date(2026, 1, 1), "元旦"),
    (date(2026, 2, 17), "春节"),
    (date(2026, 3, 3), "元宵节"),
    (date(2026, 4, 5), "清明节"),
    (date(2026, 6, 19), "端午节"),
    (date(2026, 9, 25), "中秋节"),
    (date(2026, 10, 1), "国庆节"),
    (date(2027, 1, 1), "元旦"),
    (date(2027, 2, 6), "春节"),
    (date(2027, 2, 20), "元宵节"),
    (date(2027, 4, 5), "清明节"),
    (date(2027, 6, 9), "端午节"),
    (date(2027, 9, 15), "中秋节"),
    (date(2027, 10, 1), "国庆节"),
    (date(2028, 1, 1), "元旦"),
    (date(2028, 1, 26), "春节"),
    (date(2028, 2, 9), "元宵节"),
    (date(2028, 4, 4), "清明节"),
    (date(2028, 5, 28), "端午节"),
    (date(2028, 10, 3), "中秋节"),
    (date(2028, 10, 1), "国庆节"),
]


async def seed_holidays(session: AsyncSession) -> int:
    """Insert the festival calendar days that are missing; edited rows are left alone."""
    n = 0
    for day, name in HOLIDAYS:
        result = await session.execute(
            text(
                "INSERT INTO holidays (day, name, greeting_template) VALUES (:d, :n, :g) ON CONFLICT (day) DO NOTHING"
            ),
            {"d": day, "n": name, "g": GREETINGS[name]},
        )
        n += rowcount(result)
    return n


_FOLLOW = """
UPDATE care_tasks t SET manager_id = a.manager_id, updated_at = now()
FROM manager_assignments a
WHERE a.customer_id = t.customer_id AND t.status IN ('open', 'in_progress') AND t.manager_id IS DISTINCT FROM a.manager_id
"""
_CANCEL = """
UPDATE care_tasks t SET status = 'cancelled', updated_at = now()
WHERE t.status = 'open' AND t.manager_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM manager_assignments a WHERE a.customer_id = t.customer_id)
"""

# A customer who asked not to be disturbed gets no manager contact: their open tasks are
# cancelled (otherwise nobody can close them: the manager may not call).
_CANCEL_DND = """
UPDATE care_tasks t SET status = 'cancelled', updated_at = now()
FROM customer_features f
WHERE f.customer_id = t.customer_id AND f.do_not_disturb AND t.status IN ('open', 'in_progress')
"""


# (lo, hi] ranges of manager ids, each holding about an equal share of the assigned customers
_MANAGER_RANGES = """
SELECT DISTINCT max(manager_id) OVER (PARTITION BY part) AS hi
FROM (SELECT manager_id, ntile(CAST(:parts AS int)) OVER (ORDER BY manager_id) AS part FROM manager_assignments) x
ORDER BY 1
"""


async def manager_ranges(session: AsyncSession, parts: int) -> list[tuple[int, int]]:
    """Ranges of whole managers (a manager's customers sort together, so each range's upper bound
    takes a manager's customers entirely), `parts` of them or fewer."""
    highs = [int(h) for h in await session.scalars(text(_MANAGER_RANGES), {"parts": parts})]
    return list(zip([-1, *highs[:-1]], highs, strict=True))


async def run(ctx: RunContext) -> int:
    """Tasks follow their customer's manager and are cancelled without one (one transaction),
    then the new tasks are made per range of managers, `ctx.parallel` ranges side by side: the
    single statement over every assigned customer ran on one core (5.9 s of a 1M cold run's
    last stage, 29 s at 4M, with the other core idle; a 1M rerun 3.1-3.25 -> 2.3 s)."""
    async with own_transaction(ctx.sm) as s:
        await seed_holidays(s)
        await tune(s)
        cfg = await programme_settings.get(s, "care")
        last = await latest_usage_month(s, ctx.run_date)
        moved = rowcount(await s.execute(text(_FOLLOW)))
        cancelled = rowcount(await s.execute(text(_CANCEL)))
        cancelled += rowcount(await s.execute(text(_CANCEL_DND)))
        params = {
            **await retention_offers.params(s),
            "ro_care_script": retention_offers.CARE_CALL_SCRIPT,
            "run_date": ctx.run_date,
            "month_start": ctx.month_start,
            "month_period": month_period(last),
            "birthday_lead_days": int(cfg["birthday_lead_days"]),
            "holiday_lead_days": int(cfg["holiday_lead_days"]),
            "max_per_manager_per_day": int(cfg["max_per_manager_per_day"]),
        }
        # one range per chunk in flight: every range's hash joins scan the whole feature and profile
        # views, so more, smaller ranges cost more (a 1M rerun: 4 ranges 3.0 s, 2 ranges 2.3 s)
        ranges = await manager_ranges(s, max(1, ctx.parallel))
    statement = text(
        sql("care_tasks")
        .replace("{ro_ladder}", retention_offers.LADDER_CTE)
        .replace("{ro_pick}", retention_offers.PICK_LATERAL)
        .replace("{ro_reason}", retention_offers.REASON_EXPR)
    )
    gate = asyncio.Semaphore(max(1, ctx.parallel))

    async def one(lo: int, hi: int) -> int:
        async with gate, own_transaction(ctx.sm) as s:
            await tune(s)
            return rowcount(await s.execute(statement, {**params, "manager_lo": lo, "manager_hi": hi}))

    created = sum(await asyncio.gather(*(one(lo, hi) for lo, hi in ranges)))
    ctx.notes["care"] = {"created": created, "moved": moved, "cancelled": cancelled}
    return created + moved + cancelled
