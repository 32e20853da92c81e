"""Account-manager KPIs per month (seed 001, table 1), combined into a weighted score.

Indicators, for manager m and month M (local Asia/Shanghai month; "assigned" = the customers in
`manager_assignments` for m — the current book, which is also what the manager works from):

| code | weight | value |
| --- | --- | --- |
| routine_care | 5 | done routine tasks / planned routine tasks (care_tasks of m, kind routine, due in M, not cancelled) |
| greetings | 4 | greetings done by m in M for assigned customers / greetings due (assigned non-DND customers with a birthday in M, plus assigned non-DND customers × holidays in M), capped at 1 |
| privilege_awareness | 1 | assigned customers m reached with a benefits explanation in M (manager_contacts.benefits_explained) / assigned |
| offer_participation | 3 | assigned customers with an `accepted_offer` touch by m in M / assigned |
| contract_rate | 5 | assigned customers holding a contract-kind product on the last day of M (started, not ended, not cancelled by then) / assigned |
| value_retention | 4 | customers assigned before M started who are still in network at the end of M (not churned by then) with bill(M) ≥ bill(M−1) / customers assigned before M started |
| satisfaction | 5 | mean of (s − 1) / 4 over the satisfaction scores s (1–5) of M: stated in m's contacts with assigned customers, complaints of assigned customers, and 1 for each complaint-outcome contact without a score |

An indicator whose denominator is zero (nothing planned, nobody assigned, no scores) is None and
is left out of the score: score = 100 × Σ wᵢ·vᵢ / Σ wᵢ over the indicators that have a value.
Rank: position by score (ties by manager id) among the account managers of the manager's branch.
Everything is read from records in one set-based statement per (managers, month), so the numbers
are reproducible at any time from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth import scoping
from shared.auth.principals import Principal, is_account_manager
from shared.errors import NotFound
from shared.models import StaffUser

INDICATORS: list[tuple[str, str, int]] = [
    ("routine_care", "Monthly routine-care plan completion", 5),
    ("greetings", "Birthday and holiday greetings done", 4),
    ("privilege_awareness", "Exclusive-privilege awareness", 1),
    ("offer_participation", "Exclusive-offer participation", 3),
    ("contract_rate", "Contract rate", 5),
    ("value_retention", "Value and in-network retention", 4),
    ("satisfaction", "Satisfaction", 5),
]
WEIGHTS = {code: w for code, _, w in INDICATORS}

_SQL = text(
    """
    WITH mgr AS (SELECT unnest(:managers) AS manager_id),
    assigned AS (
        SELECT manager_id, customer_id, created_at FROM manager_assignments WHERE manager_id = ANY(:managers)
    ),
    n_assigned AS (SELECT manager_id, count(*) AS n FROM assigned GROUP BY manager_id),
    routine AS (
        SELECT manager_id,
               count(*) FILTER (WHERE status = 'done') AS done,
               count(*) FILTER (WHERE status <> 'cancelled') AS planned
        FROM care_tasks
        WHERE manager_id = ANY(:managers) AND kind = 'routine' AND due_on >= :m_start AND due_on <= :m_last
        GROUP BY manager_id
    ),
    greet_due AS (
        SELECT a.manager_id,
               count(*) FILTER (WHERE extract(month FROM c.birthday) = :month_num)
               + count(*) * (SELECT count(*) FROM holidays WHERE day >= :m_start AND day <= :m_last) AS due
        FROM assigned a JOIN customers c ON c.id = a.customer_id
        WHERE NOT c.do_not_disturb
        GROUP BY a.manager_id
    ),
    greet_done AS (
        SELECT a.manager_id, count(*) AS done
        FROM assigned a JOIN greetings g ON g.customer_id = a.customer_id AND g.staff_id = a.manager_id
        WHERE g.occasion_date >= :m_start AND g.occasion_date <= :m_last
        GROUP BY a.manager_id
    ),
    aware AS (
        SELECT a.manager_id, count(DISTINCT a.customer_id) AS n
        FROM assigned a JOIN manager_contacts mc ON mc.customer_id = a.customer_id AND mc.staff_id = a.manager_id
        WHERE mc.benefits_explained AND mc.created_at >= :t_start AND mc.created_at < :t_end
        GROUP BY a.manager_id
    ),
    offers AS (
        SELECT a.manager_id, count(DISTINCT a.customer_id) AS n
        FROM assigned a JOIN touches t ON t.customer_id = a.customer_id AND t.staff_id = a.manager_id
        WHERE t.outcome = 'accepted_offer' AND t.occurred_at >= :t_start AND t.occurred_at < :t_end
        GROUP BY a.manager_id
    ),
    contracts AS (
        SELECT a.manager_id, count(DISTINCT a.customer_id) AS n
        FROM assigned a
        JOIN subscriptions s ON s.customer_id = a.customer_id
        JOIN products p ON p.id = s.product_id AND p.kind = 'contract'
        WHERE s.starts_on <= :m_last AND (s.ends_on IS NULL OR s.ends_on >= :m_last)
          AND (s.cancelled_at IS NULL OR s.cancelled_at >= :t_end)
        GROUP BY a.manager_id
    ),
    retention AS (
        SELECT a.manager_id, count(*) AS base,
               count(*) FILTER (
                   WHERE NOT (c.status = 'churned' AND (c.churned_on IS NULL OR c.churned_on <= :m_last))
                     AND NOT (c.churned_on IS NOT NULL AND c.churned_on <= :m_last)
                     AND cur.bill_fen IS NOT NULL AND cur.bill_fen >= coalesce(prev.bill_fen, 0)
               ) AS kept
        FROM assigned a
        JOIN customers c ON c.id = a.customer_id
        LEFT JOIN monthly_usage cur ON cur.customer_id = a.customer_id AND cur.month = :m_start
        LEFT JOIN monthly_usage prev ON prev.customer_id = a.customer_id AND prev.month = :prev_month
        WHERE a.created_at < :t_start
        GROUP BY a.manager_id
    ),
    scores AS (
        SELECT mc.staff_id AS manager_id, mc.satisfaction::numeric AS s
        FROM manager_contacts mc JOIN assigned a ON a.customer_id = mc.customer_id AND a.manager_id = mc.staff_id
        WHERE mc.created_at >= :t_start AND mc.created_at < :t_end
          AND (mc.satisfaction IS NOT NULL OR mc.outcome = 'complaint')
        UNION ALL
        SELECT a.manager_id, cp.satisfaction::numeric
        FROM assigned a JOIN complaints cp ON cp.customer_id = a.customer_id
        WHERE cp.satisfaction IS NOT NULL AND cp.occurred_at >= :t_start AND cp.occurred_at < :t_end
    ),
    satisfaction AS (
        SELECT manager_id, avg((coalesce(s, 1) - 1) / 4.0) AS v, count(*) AS n FROM scores GROUP BY manager_id
    )
    SELECT mgr.manager_id,
           coalesce(na.n, 0) AS assigned,
           coalesce(r.done, 0) AS routine_done, coalesce(r.planned, 0) AS routine_planned,
           coalesce(gd.done, 0) AS greet_done, coalesce(gu.due, 0) AS greet_due,
           coalesce(aw.n, 0) AS aware, coalesce(o.n, 0) AS offers, coalesce(ct.n, 0) AS contracts,
           coalesce(rt.kept, 0) AS kept, coalesce(rt.base, 0) AS base,
           s.v AS satisfaction, coalesce(s.n, 0) AS satisfaction_n
    FROM mgr
    LEFT JOIN n_assigned na ON na.manager_id = mgr.manager_id
    LEFT JOIN routine r ON r.manager_id = mgr.manager_id
    LEFT JOIN greet_due gu ON gu.manager_id = mgr.manager_id
    LEFT JOIN greet_done gd ON gd.manager_id = mgr.manager_id
    LEFT JOIN aware aw ON aw.manager_id = mgr.manager_id
    LEFT JOIN offers o ON o.manager_id = mgr.manager_id
    LEFT JOIN contracts ct ON ct.manager_id = mgr.manager_id
    LEFT JOIN retention rt ON rt.manager_id = mgr.manager_id
    LEFT JOIN satisfaction s ON s.manager_id = mgr.manager_id
    """
).bindparams(bindparam("managers", type_=ARRAY(Integer)))


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name: str
    weight: int
    numerator: float
    denominator: float
    value: float | None


def _ratio(num: float, den: float, cap: bool = False) -> float | None:
    if not den:
        return None
    v = num / den
    return min(v, 1.0) if cap else v


def combine(indicators: list[Indicator]) -> float:
    """100 × Σ w·v / Σ w over indicators with a value; 0 when none has one."""
    valued = [i for i in indicators if i.value is not None]
    total = sum(i.weight for i in valued)
    if not total:
        return 0.0
    return round(100 * sum(i.weight * float(i.value or 0) for i in valued) / total, 2)


def _indicators(row: Any) -> list[Indicator]:
    names = {code: name for code, name, _ in INDICATORS}

    def ind(code: str, num: float, den: float, value: float | None) -> Indicator:
        return Indicator(code, names[code], WEIGHTS[code], num, den, None if value is None else round(value, 4))

    sat_n = int(row.satisfaction_n)
    return [
        ind("routine_care", row.routine_done, row.routine_planned, _ratio(row.routine_done, row.routine_planned)),
        ind("greetings", row.greet_done, row.greet_due, _ratio(row.greet_done, row.greet_due, cap=True)),
        ind("privilege_awareness", row.aware, row.assigned, _ratio(row.aware, row.assigned)),
        ind("offer_participation", row.offers, row.assigned, _ratio(row.offers, row.assigned)),
        ind("contract_rate", row.contracts, row.assigned, _ratio(row.contracts, row.assigned)),
        ind("value_retention", row.kept, row.base, _ratio(row.kept, row.base)),
        ind(
            "satisfaction", float(row.satisfaction or 0) * sat_n, sat_n, None if not sat_n else float(row.satisfaction)
        ),
    ]


async def compute(session: AsyncSession, manager_ids: list[int], month: date) -> dict[int, dict[str, Any]]:
    """KPIs of several managers for one month, from the records, in one statement."""
    if not manager_ids:
        return {}
    m_start = clock.month_start(month)
    t_start, t_end = clock.month_bounds(m_start)
    rows = (
        await session.execute(
            _SQL,
            {
                "managers": list(manager_ids),
                "m_start": m_start,
                "m_last": clock.month_end_day(m_start),
                "prev_month": clock.add_months(m_start, -1),
                "month_num": m_start.month,
                "t_start": t_start,
                "t_end": t_end,
            },
        )
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        inds = _indicators(row)
        out[row.manager_id] = {
            "manager_id": row.manager_id,
            "month": m_start.isoformat()[:7],
            "assigned": row.assigned,
            "indicators": [_asdict(i) for i in inds],
            "score": combine(inds),
        }
    return out


def _asdict(i: Indicator) -> dict[str, Any]:
    return {
        "code": i.code,
        "name": i.name,
        "weight": i.weight,
        "numerator": i.numerator,
        "denominator": i.denominator,
        "value": i.value,
    }


async def branch_ranking(session: AsyncSession, branch_id: int, month: date) -> list[dict[str, Any]]:
    """Every account manager of the branch with KPIs, ordered by score (rank 1 first)."""
    managers = (
        await session.execute(
            select(StaffUser.id, StaffUser.username, StaffUser.full_name)
            .where(StaffUser.org_unit_id == branch_id, StaffUser.role == "account_manager")
            .order_by(StaffUser.id)
        )
    ).all()
    kpis = await compute(session, [m.id for m in managers], month)
    ranked = sorted(managers, key=lambda m: (-kpis[m.id]["score"], m.id))
    return [
        {**kpis[m.id], "rank": i + 1, "username": m.username, "full_name": m.full_name} for i, m in enumerate(ranked)
    ]


async def for_manager(
    session: AsyncSession, principal: Principal, manager_id: int, month: date, *, trend_months: int = 6
) -> dict[str, Any]:
    """One manager's KPIs with rank in branch and trend. A manager may only ask about themself,
    a branch head about the managers of their branch (else 404)."""
    staff = await scoping.get_visible_staff(session, principal, manager_id)
    if not is_account_manager(staff):
        raise NotFound("staff member not found", staff_id=manager_id)
    month = clock.month_start(month)
    rank, size = None, 0
    if staff.org_unit_id is not None:
        ranking = await branch_ranking(session, staff.org_unit_id, month)
        size = len(ranking)
        current = next(r for r in ranking if r["manager_id"] == staff.id)
        rank = current["rank"]
    else:
        current = (await compute(session, [staff.id], month))[staff.id]
    trend = []
    for k in range(trend_months - 1, 0, -1):
        m = clock.add_months(month, -k)
        trend.append({"month": m.isoformat()[:7], "score": (await compute(session, [staff.id], m))[staff.id]["score"]})
    trend.append({"month": month.isoformat()[:7], "score": current["score"]})
    return {
        "manager_id": staff.id,
        "month": month.isoformat()[:7],
        "assigned": current["assigned"],
        "indicators": current["indicators"],
        "score": current["score"],
        "rank_in_branch": rank,
        "branch_size": size,
        "trend": trend,
    }


def parse_month(value: str | None) -> date:
    """YYYY-MM (already checked by the router against shared.web.params.MONTH), default this month."""
    if not value:
        return clock.month_start(clock.today())
    return date.fromisoformat(f"{value}-01")
