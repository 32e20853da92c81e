"""Revenue retention (seed 000: 累积出账收入保有率) per branch, manager and month.

The stock is the customers billed (bill > 0) in the base month B. Over the period months P
(the months after B up to the last complete billed one):

    revenue retention = Σ_{m ∈ P} bills of the stock in m ÷ (|P| × the stock's bills in B)

so 89.6 % means the stock billed, month for month, 89.6 % of what it billed in B: churners
count 0, down-spenders less, up-spenders more (it can exceed 100 %). Also: customer retention
(the stock not churned by the end of P, seed 002 的存量客户保有率), ARPU in B and over P (per
stock customer, churners included), and its change. `group_by=month` gives the cumulative rate
through each month (the seed's month-by-month trend). The default base is December of the year
before the last complete month, as the seed's year-to-date figure; a base month without bills
moves to the first billed month after it. Branch and manager are today's (the assignment history
is not a snapshot); per campaign, the campaign report compares the members as they were at launch.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock

GROUPS = {
    "total": "'all'",
    "branch": "coalesce(c.branch_id::text, 'none')",
    "manager": "coalesce(a.manager_id::text, 'none')",
}


def _month_add(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


async def default_period(session: AsyncSession, *, base: date | None, last: date | None) -> tuple[date, date] | None:
    """(base month, last month) with the defaults of the module doc; None without billed months."""
    this_month = clock.today().replace(day=1)
    if last is None:
        last = await session.scalar(text("SELECT max(month) FROM monthly_usage WHERE month < :m"), {"m": this_month})
        if last is None:
            return None
    if base is None:
        base = date(last.year - 1, 12, 1)
    if not await session.scalar(text("SELECT EXISTS (SELECT 1 FROM monthly_usage WHERE month = :b)"), {"b": base}):
        base = await session.scalar(
            text("SELECT min(month) FROM monthly_usage WHERE month > :b AND month < :l"), {"b": base, "l": last}
        )
        if base is None:
            return None
    return (base, last) if base < last else None


_GROUPED = """
WITH facts AS (
    SELECT customer_id, bill_fen AS base_bill, 0 AS period_bill FROM monthly_usage WHERE month = :base AND bill_fen > 0
    UNION ALL
    SELECT customer_id, 0, bill_fen FROM monthly_usage WHERE month > :base AND month <= :last
), per AS (
    SELECT customer_id, sum(base_bill) AS base_bill, sum(period_bill) AS period_bill
    FROM facts GROUP BY customer_id HAVING sum(base_bill) > 0
)
SELECT {group} AS grp, count(*) AS stock, sum(per.base_bill) AS base_revenue, sum(per.period_bill) AS period_revenue,
       count(*) FILTER (WHERE NOT (c.status = 'churned' AND coalesce(c.churned_on, :end) <= :end)) AS retained
FROM per JOIN customers c ON c.id = per.customer_id
LEFT JOIN manager_assignments a ON a.customer_id = per.customer_id
WHERE {scope}
GROUP BY 1 ORDER BY 1
"""

_MONTHLY = """
WITH stock AS (
    SELECT mu.customer_id, mu.bill_fen AS base_bill, c.status, c.churned_on
    FROM monthly_usage mu JOIN customers c ON c.id = mu.customer_id
    WHERE mu.month = :base AND mu.bill_fen > 0 {scope_and}
), months AS (
    SELECT CAST(g AS date) AS month FROM generate_series(CAST(:base AS date) + interval '1 month', :last, interval '1 month') g
), billed AS (
    SELECT mu.month, sum(mu.bill_fen) AS revenue
    FROM monthly_usage mu JOIN stock s ON s.customer_id = mu.customer_id
    WHERE mu.month > :base AND mu.month <= :last
    GROUP BY 1
)
SELECT m.month, coalesce(b.revenue, 0) AS revenue,
       (SELECT count(*) FROM stock) AS stock, (SELECT sum(base_bill) FROM stock) AS base_revenue,
       (SELECT count(*) FROM stock s WHERE NOT (s.status = 'churned'
            AND coalesce(s.churned_on, CAST(m.month + interval '1 month' AS date) - 1)
                < CAST(m.month + interval '1 month' AS date))) AS retained
FROM months m LEFT JOIN billed b ON b.month = m.month
ORDER BY m.month
"""


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


async def revenue_retention(
    session: AsyncSession,
    *,
    group_by: str = "total",
    base: date | None = None,
    last: date | None = None,
    branch_id: int | None = None,
) -> list[dict[str, Any]]:
    """Rows per group (or per month, cumulative) as described in the module doc."""
    period = await default_period(session, base=base, last=last)
    if period is None:
        return []
    base, last = period
    months = (last.year - base.year) * 12 + last.month - base.month
    end = _month_add(last, 1)
    p: dict[str, Any] = {"base": base, "last": last, "end": date.fromordinal(end.toordinal() - 1), "branch": branch_id}
    meta = {
        "base_month": base.isoformat()[:7],
        "first_month": _month_add(base, 1).isoformat()[:7],
        "last_month": last.isoformat()[:7],
    }
    if group_by == "month":
        rows = (
            await session.execute(
                text(_MONTHLY.format(scope_and="AND c.branch_id = :branch" if branch_id is not None else "")), p
            )
        ).all()
        out, cumulative = [], 0
        for k, r in enumerate(rows, start=1):
            cumulative += int(r.revenue)
            base_rev = int(r.base_revenue or 0)
            out.append(
                {
                    "group_by": "month",
                    "group": r.month.isoformat()[:7],
                    **meta,
                    "months": k,
                    "stock": r.stock,
                    "base_revenue_fen": base_rev,
                    "period_revenue_fen": cumulative,
                    "revenue_retention": _ratio(cumulative, k * base_rev),
                    "month_revenue_retention": _ratio(int(r.revenue), base_rev),
                    "retained": r.retained,
                    "customer_retention": _ratio(r.retained, r.stock),
                    "arpu_base_fen": round(base_rev / r.stock, 2) if r.stock else None,
                    "arpu_period_fen": round(cumulative / (k * r.stock), 2) if r.stock else None,
                }
            )
        return out
    if group_by not in GROUPS:
        raise ValueError(group_by)
    scope = "c.branch_id = :branch" if branch_id is not None else "true"
    rows = (await session.execute(text(_GROUPED.format(group=GROUPS[group_by], scope=scope)), p)).all()
    out = []
    for r in rows:
        base_rev, period_rev = int(r.base_revenue or 0), int(r.period_revenue or 0)
        arpu_base = base_rev / r.stock if r.stock else None
        arpu_period = period_rev / (months * r.stock) if r.stock else None
        out.append(
            {
                "group_by": group_by,
                "group": r.grp,
                **meta,
                "months": months,
                "stock": r.stock,
                "base_revenue_fen": base_rev,
                "period_revenue_fen": period_rev,
                "revenue_retention": _ratio(period_rev, months * base_rev),
                "month_revenue_retention": None,
                "retained": r.retained,
                "customer_retention": _ratio(r.retained, r.stock),
                "arpu_base_fen": None if arpu_base is None else round(arpu_base, 2),
                "arpu_period_fen": None if arpu_period is None else round(arpu_period, 2),
            }
        )
    return out
