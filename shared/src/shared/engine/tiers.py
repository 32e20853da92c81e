"""Stage 2: tiers (seed 000: ordinary 1–4 stars; VIP five-star, gold, diamond) from `tier_rules`.

A customer gets the highest-ranked tier whose every threshold (tenure months, 6-month average
bill) they meet. Rules are seeded when the table is empty and edited in the back office.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import incremental
from shared.engine.incremental import subset_sql
from shared.engine.jobs import RunContext

DEFAULT_RULES = [
    # tier, rank, min tenure months, min 6-month average bill (fen), benefits
    ("star1", 1, 0, 0, ["积分兑换"]),
    ("star2", 2, 12, 3000, ["积分兑换", "生日祝福"]),
    ("star3", 3, 24, 5000, ["积分兑换", "生日祝福", "营业厅优先办理"]),
    ("star4", 4, 36, 8000, ["积分兑换", "生日祝福", "营业厅优先办理", "免费补卡"]),
    ("star5", 5, 48, 12000, ["专属客户经理", "机场贵宾厅 2 次/年", "营业厅优先办理"]),
    ("gold", 6, 60, 20000, ["专属客户经理", "机场贵宾厅 4 次/年", "免费停机保号"]),
    ("diamond", 7, 72, 30000, ["专属客户经理", "机场贵宾厅不限次", "免费停机保号", "高铁贵宾室"]),
]


async def seed_default_rules(session: AsyncSession) -> int:
    """Insert the default rules only when there are none (an admin's edits are never overwritten)."""
    if await session.scalar(text("SELECT EXISTS (SELECT 1 FROM tier_rules)")):
        return 0

    for tier, rank, months, bill, benefits in DEFAULT_RULES:
        await session.execute(
            text(
                "INSERT INTO tier_rules (tier, rank, min_tenure_months, min_avg_bill_fen, benefits) "
                "VALUES (:t, :r, :m, :b, CAST(:bf AS jsonb)) ON CONFLICT (tier) DO NOTHING"
            ),
            {"t": tier, "r": rank, "m": months, "b": bill, "bf": json.dumps(benefits, ensure_ascii=False)},
        )
    return len(DEFAULT_RULES)


def rule_tier(row: str) -> str:
    """SQL: the tier the rules give a feature row (`row` is its alias). rank is not unique (the
    back office may give two tiers the same rank): `r.tier` breaks the tie, else the winner would
    follow the rules' physical row order and flip after any edit."""
    return (
        f"coalesce((SELECT r.tier FROM tier_rules r WHERE {row}.tenure_months >= r.min_tenure_months"
        f" AND {row}.arpu_6m_fen >= r.min_avg_bill_fen ORDER BY r.rank DESC, r.tier LIMIT 1), 'star1')"
    )


_ASSIGN = f"""
UPDATE customers c SET tier = x.tier, updated_at = now()
FROM (
    SELECT f.customer_id, {rule_tier("f")} AS tier
    FROM customer_features f
    WHERE f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/
) x
WHERE c.id = x.customer_id AND c.tier IS DISTINCT FROM x.tier
  AND c.id > :lo AND c.id <= :hi /*subset c.id*/  -- the range on both sides: Postgres does not carry it across the join
"""
_SYNC_FEATURE = """
UPDATE customer_features f SET tier = c.tier
FROM customers c
WHERE c.id = f.customer_id AND f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/
  AND f.tier IS DISTINCT FROM c.tier AND c.id > :lo AND c.id <= :hi /*subset c.id*/
"""
# a tier follows the feature row (tenure, 6-month bill); a tier set on the customer row by anyone
# else (the two copies differ) is put back by the rules, as a full pass would
CHANGED = [
    "SELECT customer_id FROM customer_features WHERE computed_at >= :since",
    "SELECT c.id FROM customers c JOIN customer_features f ON f.customer_id = c.id WHERE c.tier IS DISTINCT FROM f.tier",
]


async def run(ctx: RunContext) -> int:
    async with own_transaction(ctx.sm) as s:
        await seed_default_rules(s)
        rules = await incremental.config_hash(
            s, "SELECT tier, rank, min_tenure_months, min_avg_bill_fen FROM tier_rules ORDER BY tier"
        )
    p = await incremental.plan(ctx, "tiers", {"rules": rules}, changed=CHANGED)
    assign = text(subset_sql(_ASSIGN, p.subset))
    sync = text(subset_sql(_SYNC_FEATURE, p.subset))

    async def work(s: AsyncSession, lo: int, hi: int, ids: list[int] | None) -> int:
        bound = {"lo": lo, "hi": hi, "ids": ids}
        n = rowcount(await s.execute(assign, bound))
        await s.execute(sync, bound)
        return max(n, 0)

    n = await incremental.run_pass(ctx, p, work)
    await incremental.finish(ctx, p)
    return n
