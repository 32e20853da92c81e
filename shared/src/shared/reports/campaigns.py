"""Campaign tracking: treated vs hold-out per campaign, strategy, channel, branch or start month.

Per member (one statement over campaign_members):
- retained: not churned at `as_of` (status churned with churned_on ≤ as_of, or no date, is lost);
- ARPU change: mean monthly bill from the start month to min(end, as_of) month, minus the
  baseline stored at launch (members without both are left out of the ARPU figures);
- reached: at least one delivered touch of the campaign (not queued/sending/failed/cancelled);
- accepted: an accepted recommendation, a successful touch, or a successful campaign task.
Per group: reach, touches per treated member, touch success rate (offline and online apart),
accepted offers, retention and ARPU change of both arms with uplift and 95 % CI (see stats),
cost (sum of touch costs), cost per retained treated customer and per incremental retained one.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.reports.stats import diff_proportions, welch
from shared.touches.service import SUCCESS_OUTCOMES

OFFLINE_CHANNELS = ("hall", "manager_visit", "manager_call")
NOT_CONTACT = ("queued", "sending", "failed", "cancelled")
GROUPS = {
    "campaign": "m.campaign_id::text",
    "strategy": "coalesce(m.strategy_id::text, 'none')",
    "channel": "m.channel",
    "branch": "coalesce(m.branch_id::text, 'none')",
    "month": "m.month",
}

_SQL = """
WITH m AS (
    SELECT cm.campaign_id, cm.customer_id, cm.holdout, cm.baseline_arpu_fen, ca.strategy_id, ca.channel,
           to_char(ca.starts_on, 'YYYY-MM') AS month, c.branch_id,
           NOT (c.status = 'churned' AND coalesce(c.churned_on, :as_of) <= :as_of) AS retained,
           (SELECT avg(mu.bill_fen) FROM monthly_usage mu
             WHERE mu.customer_id = cm.customer_id AND mu.month >= date_trunc('month', ca.starts_on)::date
               AND mu.month <= date_trunc('month', least(ca.ends_on, :as_of))::date) AS post_arpu
    FROM campaign_members cm
    JOIN campaigns ca ON ca.id = cm.campaign_id
    JOIN customers c ON c.id = cm.customer_id
    WHERE {where}
), t AS (
    SELECT t.campaign_id, t.customer_id,
           count(*) AS n,
           count(*) FILTER (WHERE t.outcome = ANY(:success)) AS ok,
           count(*) FILTER (WHERE t.channel = ANY(:offline)) AS n_off,
           count(*) FILTER (WHERE t.channel = ANY(:offline) AND t.outcome = ANY(:success)) AS ok_off,
           sum(t.cost_fen) AS cost
    FROM touches t
    WHERE t.campaign_id IN (SELECT DISTINCT campaign_id FROM m) AND t.outcome <> ALL(:not_contact)
    GROUP BY 1, 2
), acc AS (
    SELECT campaign_id, customer_id FROM recommendations
     WHERE status = 'accepted' AND campaign_id IN (SELECT DISTINCT campaign_id FROM m)
    UNION
    SELECT campaign_id, customer_id FROM care_tasks
     WHERE status = 'done' AND outcome = ANY(:success) AND campaign_id IN (SELECT DISTINCT campaign_id FROM m)
    UNION
    SELECT campaign_id, customer_id FROM t WHERE ok > 0
), f AS (
    SELECT {group} AS grp, m.holdout, m.retained,
           m.post_arpu - m.baseline_arpu_fen AS arpu_delta,
           coalesce(t.n, 0) AS n, coalesce(t.ok, 0) AS ok, coalesce(t.n_off, 0) AS n_off,
           coalesce(t.ok_off, 0) AS ok_off, coalesce(t.cost, 0) AS cost, acc.customer_id IS NOT NULL AS accepted
    FROM m
    LEFT JOIN t ON t.campaign_id = m.campaign_id AND t.customer_id = m.customer_id
    LEFT JOIN acc ON acc.campaign_id = m.campaign_id AND acc.customer_id = m.customer_id
)
SELECT grp, holdout, count(*) AS members, count(*) FILTER (WHERE retained) AS retained,
       count(arpu_delta) AS n_arpu, avg(arpu_delta) AS arpu_mean, var_samp(arpu_delta) AS arpu_var,
       count(*) FILTER (WHERE n > 0) AS reached, sum(n) AS touches, sum(ok) AS touches_ok,
       sum(n_off) AS touches_offline, sum(ok_off) AS touches_offline_ok, sum(cost) AS cost,
       count(*) FILTER (WHERE accepted) AS accepted
FROM f GROUP BY grp, holdout ORDER BY grp, holdout
"""


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


async def campaign_report(
    session: AsyncSession, *, group_by: str = "campaign", campaign_ids: list[int] | None = None,
    branch_id: int | None = None, as_of: date | None = None,
) -> list[dict[str, Any]]:
    """One row per group (see module doc). `branch_id` limits members to one branch."""
    if group_by not in GROUPS:
        raise ValueError(group_by)
    where = ["ca.status IN ('running', 'finished')"]
    params: dict[str, Any] = {
        "as_of": as_of or date.today(), "success": list(SUCCESS_OUTCOMES), "offline": list(OFFLINE_CHANNELS),
        "not_contact": list(NOT_CONTACT),
    }
    if campaign_ids:
        where.append("cm.campaign_id = ANY(CAST(:ids AS int[]))")
        params["ids"] = campaign_ids
    if branch_id is not None:
        where.append("c.branch_id = :branch")
        params["branch"] = branch_id
    rows = (await session.execute(text(_SQL.format(where=" AND ".join(where), group=GROUPS[group_by])), params)).all()
    groups: dict[str, dict[bool, Any]] = {}
    for r in rows:
        groups.setdefault(r.grp, {})[r.holdout] = r
    return [_summarise(group_by, grp, arms.get(False), arms.get(True)) for grp, arms in groups.items()]


def _summarise(group_by: str, grp: str, tr: Any, ho: Any) -> dict[str, Any]:
    def v(row: Any, name: str, default: float = 0) -> float:
        return default if row is None or getattr(row, name) is None else float(getattr(row, name))

    n_t, n_h = int(v(tr, "members")), int(v(ho, "members"))
    ret_t, ret_h = int(v(tr, "retained")), int(v(ho, "retained"))
    touches, ok = v(tr, "touches"), v(tr, "touches_ok")
    off, off_ok = v(tr, "touches_offline"), v(tr, "touches_offline_ok")
    cost = int(v(tr, "cost"))
    retention = diff_proportions(ret_t, n_t, ret_h, n_h)
    arpu = welch(v(tr, "arpu_mean"), v(tr, "arpu_var"), int(v(tr, "n_arpu")),
                 v(ho, "arpu_mean"), v(ho, "arpu_var"), int(v(ho, "n_arpu")))
    incremental = retention.estimate * n_t if retention else None
    return {
        "group_by": group_by, "group": grp,
        "members": n_t + n_h, "treated": n_t, "holdout": n_h,
        "reached": int(v(tr, "reached")), "reach_rate": _rate(v(tr, "reached"), n_t),
        "touches": int(touches), "touches_per_member": _rate(touches, n_t),
        "touch_success_rate": _rate(ok, touches),
        "offline_touches": int(off), "offline_success_rate": _rate(off_ok, off),
        "online_touches": int(touches - off), "online_success_rate": _rate(ok - off_ok, touches - off),
        "accepted": int(v(tr, "accepted")), "acceptance_rate": _rate(v(tr, "accepted"), n_t),
        "retained_treated": ret_t, "retained_holdout": ret_h,
        "retention_treated": _rate(ret_t, n_t), "retention_holdout": _rate(ret_h, n_h),
        "retention_uplift": None if retention is None else round(retention.estimate, 4),
        "retention_uplift_ci_low": None if retention is None else round(retention.low, 4),
        "retention_uplift_ci_high": None if retention is None else round(retention.high, 4),
        "arpu_change_treated_fen": None if tr is None or tr.arpu_mean is None else round(float(tr.arpu_mean), 2),
        "arpu_change_holdout_fen": None if ho is None or ho.arpu_mean is None else round(float(ho.arpu_mean), 2),
        "arpu_uplift_fen": None if arpu is None else round(arpu.estimate, 2),
        "arpu_uplift_ci_low_fen": None if arpu is None else round(arpu.low, 2),
        "arpu_uplift_ci_high_fen": None if arpu is None else round(arpu.high, 2),
        "arpu_uplift_df": None if arpu is None or arpu.df is None else round(arpu.df, 2),
        "cost_fen": cost,
        "cost_per_retained_fen": round(cost / ret_t, 2) if ret_t else None,
        "cost_per_incremental_retained_fen": round(cost / incremental, 2) if incremental and incremental > 0 else None,
    }
