"""Campaign tracking: treated vs hold-out per campaign, strategy, channel, branch or launch month.

What is compared (sql/campaign_report.sql, one statement over campaign_members):
- **members as they were at launch**: the rows written at launch, with the branch, manager,
  tier and baseline they had then; nothing is re-derived from today's customers;
- **from launch**: the measured window starts at `launched_at` for both arms, never at
  `starts_on` (a backdated campaign is measured only from the moment its members were drawn);
- **retention = survival from launch**: members who had already churned before the launch day
  (a late-dated churn) are left out of both arms; the others are retained unless they churned on
  or before `as_of`; the curve gives the share not churned 30/60/90/180 days after launch;
- members who had churned before the launch day are left out of retention, ARPU and conversion;
- **ARPU = difference in differences**: each member's mean monthly bill over the whole billed
  months after launch (a month that starts on or after the launch day and is complete by
  `as_of`), minus their baseline (the three months before the launch month, snapshotted at
  launch); a month without a bill counts 0, so churners count as lost revenue (intent to treat);
  treated minus hold-out, Welch interval. No complete month yet: no ARPU figure, and a warning;
- **conversion**: members who ordered the offered product after launch through any channel
  (credited or not), treated vs hold-out: the sales the campaign really added;
- touches, reach, touch success (a success outcome or an attributed order, shared.touches.
  outcomes), offline/online apart, orders credited to the campaign (shared.reports.attribution:
  last touch within the window), cost, cost per retained treated member and per extra retained one.
Intervals are 95 % (shared.reports.stats): Wilson per arm, Newcombe for the difference, Welch for
ARPU; several campaigns in one group are strata (member-weighted). Warnings say when a figure
cannot be trusted yet: no hold-out, no complete month after launch, an arm too small for the
effect the campaign was meant to have (minimum detectable effect at 80 % power), low reach.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.programme import settings as programme_settings
from shared.reports import attribution
from shared.reports.stats import (
    Interval,
    MeanStratum,
    RateStratum,
    mde_means,
    mde_rates,
    stratified_means,
    stratified_rates,
    wilson,
)
from shared.touches.outcomes import NOT_CONTACT, OFFLINE_CHANNELS, REACHED_OUTCOMES, SUCCESS_OUTCOMES

__all__ = ["GROUPS", "NOT_CONTACT", "OFFLINE_CHANNELS", "campaign_report"]

GROUPS = {
    "campaign": "m.campaign_id::text",
    "strategy": "coalesce(m.strategy_id::text, 'none')",
    "channel": "m.channel",
    "branch": "coalesce(m.branch_id::text, 'none')",
    "manager": "coalesce(m.manager_id::text, 'none')",
    "month": "to_char(m.launch_day, 'YYYY-MM')",
}
SURVIVAL_DAYS = (30, 60, 90, 180)
_SQL = (Path(__file__).parent / "sql" / "campaign_report.sql").read_text()


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


async def campaign_report(
    session: AsyncSession,
    *,
    group_by: str = "campaign",
    campaign_ids: list[int] | None = None,
    branch_id: int | None = None,
    as_of: date | None = None,
    attribution_days: int | None = None,
) -> list[dict[str, Any]]:
    """One row per group (see module doc). `branch_id` limits members to one branch (at launch)."""
    if group_by not in GROUPS:
        raise ValueError(group_by)
    settings = await programme_settings.get(session, programme_settings.MEASUREMENT)
    window = await attribution.window_days(session, attribution_days)
    as_of = as_of or clock.today()
    where, members = ["ca.status IN ('running', 'finished')"], ["true"]
    params: dict[str, Any] = {
        "as_of": as_of,
        "tz": clock.TZ_NAME,
        "success": list(SUCCESS_OUTCOMES),
        "offline": list(OFFLINE_CHANNELS),
        "reached": list(REACHED_OUTCOMES),
        "not_contact": list(NOT_CONTACT),
        **attribution.params(window),
    }
    if campaign_ids:
        where.append("ca.id = ANY(CAST(:ids AS int[]))")
        params["ids"] = campaign_ids
    if branch_id is not None:
        members.append("coalesce(cm.branch_id, c.branch_id) = :branch")
        params["branch"] = branch_id
    sql = _SQL.format(
        campaigns=" AND ".join(where),
        members=" AND ".join(members),
        group=GROUPS[group_by],
        credit_ctes=attribution.CREDIT_CTES,
    )
    rows = (await session.execute(text(sql), params)).all()
    groups: dict[str, dict[int, dict[bool, Any]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        groups[r.grp][r.campaign_id][r.holdout] = r
    return [
        _summarise(group_by, grp, strata, as_of=as_of, window=window, settings=settings)
        for grp, strata in groups.items()
    ]


class _Arm:
    """Sums of one arm over the strata of a group."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def total(self, name: str) -> float:
        return float(sum(float(getattr(r, name) or 0) for r in self.rows))

    def mean(self, name: str, weight: str) -> float | None:
        n = self.total(weight)
        return self.total_weighted(name, weight) / n if n else None

    def total_weighted(self, name: str, weight: str) -> float:
        return sum(float(getattr(r, name) or 0) * float(getattr(r, weight) or 0) for r in self.rows)


def _interval_fields(prefix: str, iv: Interval | None, digits: int = 4) -> dict[str, float | None]:
    return {
        prefix: None if iv is None else round(iv.estimate, digits),
        f"{prefix}_ci_low": None if iv is None else round(iv.low, digits),
        f"{prefix}_ci_high": None if iv is None else round(iv.high, digits),
    }


def _summarise(
    group_by: str, grp: str, strata: dict[int, dict[bool, Any]], *, as_of: date, window: int, settings: dict[str, Any]
) -> dict[str, Any]:
    tr = _Arm([arms[False] for arms in strata.values() if False in arms])
    ho = _Arm([arms[True] for arms in strata.values() if True in arms])
    both = [arms for arms in strata.values() if False in arms and True in arms]
    n_t, n_h = int(tr.total("members")), int(ho.total("members"))
    risk_t, risk_h = int(tr.total("at_risk")), int(ho.total("at_risk"))
    ret_t, ret_h = int(tr.total("retained")), int(ho.total("retained"))
    launch_days = [r.launch_day for arms in strata.values() for r in arms.values()]
    post_days = max(0, (as_of - min(launch_days)).days) if launch_days else 0
    n_post = min((int(r.n_post or 0) for arms in strata.values() for r in arms.values()), default=0)

    retention = stratified_rates(
        [
            RateStratum(int(a[False].retained), int(a[False].at_risk), int(a[True].retained), int(a[True].at_risk))
            for a in both
        ]
    )
    conversion = stratified_rates(
        [
            RateStratum(int(a[False].bought), int(a[False].at_risk), int(a[True].bought), int(a[True].at_risk))
            for a in both
        ]
    )
    arpu = stratified_means(
        [
            MeanStratum(
                float(a[False].delta_mean),
                float(a[False].delta_var or 0),
                int(a[False].n_arpu),
                float(a[True].delta_mean),
                float(a[True].delta_var or 0),
                int(a[True].n_arpu),
            )
            for a in both
            if a[False].n_arpu and a[True].n_arpu
        ]
    )
    baseline = stratified_means(
        [
            MeanStratum(
                float(a[False].pre_mean),
                float(a[False].pre_var or 0),
                int(a[False].at_risk),
                float(a[True].pre_mean),
                float(a[True].pre_var or 0),
                int(a[True].at_risk),
            )
            for a in both
            if a[False].at_risk and a[True].at_risk
        ]
    )
    wt, wh = wilson(ret_t, risk_t), wilson(ret_h, risk_h)
    touches, ok = tr.total("touches"), tr.total("touches_ok")
    off, off_ok = tr.total("touches_offline"), tr.total("touches_offline_ok")
    success_ci = wilson(int(ok), int(touches))
    cost = int(tr.total("cost"))
    incremental = retention.estimate * risk_t if retention else None

    # the effect the campaign was meant to have, and the smallest effect these arms can detect
    targets_r = {
        float(r.target_retention_uplift)
        for a in strata.values()
        for r in a.values()
        if r.target_retention_uplift is not None
    }
    targets_a = {
        int(r.target_arpu_uplift_fen)
        for a in strata.values()
        for r in a.values()
        if r.target_arpu_uplift_fen is not None
    }
    target_r = (
        targets_r.pop() if len(targets_r) == 1 and len(strata) == 1 else float(settings["target_retention_uplift"])
    )
    target_a = targets_a.pop() if len(targets_a) == 1 and len(strata) == 1 else int(settings["target_arpu_uplift_fen"])
    churn_seen = (risk_t + risk_h - ret_t - ret_h + 1) / (risk_t + risk_h + 2)
    churn_plan = max(churn_seen, float(settings["planning_churn_rate"]))
    mde_r = mde_rates(churn_plan, risk_t, risk_h)
    if arpu is not None:
        mde_a = mde_means(
            tr.mean("delta_var", "n_arpu") or 0,
            int(tr.total("n_arpu")),
            ho.mean("delta_var", "n_arpu") or 0,
            int(ho.total("n_arpu")),
        )
        mde_a_basis = "observed change in bills"
    else:
        mde_a = mde_means(tr.mean("pre_var", "at_risk") or 0, risk_t, ho.mean("pre_var", "at_risk") or 0, risk_h)
        mde_a_basis = "spread of pre-launch bills (no post-launch month yet)"
    reach = tr.total("reached")
    warnings = _warnings(
        n_t=n_t,
        n_h=n_h,
        n_post=n_post,
        post_days=post_days,
        mde_r=mde_r,
        target_r=target_r,
        mde_a=mde_a,
        target_a=target_a,
        reach=reach,
        low_reach=float(settings["low_reach_rate"]),
        baseline=baseline,
        strata=len(strata),
    )

    survival: list[dict[str, Any]] = []
    for day in SURVIVAL_DAYS:
        if day <= post_days:
            survival.append(
                {
                    "day": day,
                    "treated": _rate(risk_t - tr.total(f"churned_{day}"), risk_t),
                    "holdout": _rate(risk_h - ho.total(f"churned_{day}"), risk_h),
                }
            )
    pre_t, pre_h = tr.total("pre_total"), ho.total("pre_total")
    post_t, post_h = tr.total("post_total"), ho.total("post_total")
    first_post = min((r.first_post for a in strata.values() for r in a.values() if r.first_post), default=None)
    last_post = max((r.last_post for a in strata.values() for r in a.values() if r.last_post), default=None)
    return {
        "group_by": group_by,
        "group": grp,
        "members": n_t + n_h,
        "treated": n_t,
        "holdout": n_h,
        "campaigns": len(strata),
        "measured_from": min(launch_days).isoformat() if launch_days else None,
        "as_of": as_of.isoformat(),
        "post_days": post_days,
        "post_months": n_post,
        "first_post_month": first_post.isoformat() if first_post else None,
        "last_post_month": last_post.isoformat() if last_post else None,
        "excluded_churned_before_launch": int(tr.total("gone_before") + ho.total("gone_before")),
        "reached": int(reach),
        "reach_rate": _rate(reach, n_t),
        "touches": int(touches),
        "touches_per_member": _rate(touches, n_t),
        "answered": int(tr.total("answered")),
        "touch_success_rate": _rate(ok, touches),
        "touch_success_ci_low": _r(success_ci[0]) if success_ci else None,
        "touch_success_ci_high": _r(success_ci[1]) if success_ci else None,
        "offline_touches": int(off),
        "offline_success_rate": _rate(off_ok, off),
        "online_touches": int(touches - off),
        "online_success_rate": _rate(ok - off_ok, touches - off),
        "accepted": int(tr.total("accepted")),
        "acceptance_rate": _rate(tr.total("accepted"), n_t),
        "orders_attributed": int(tr.total("orders_attributed")),
        "orders_attributed_fen": int(tr.total("orders_attributed_fen")),
        "attribution_window_days": window,
        "attribution_rule": attribution.RULE.format(days=window),
        "converted_treated": int(tr.total("bought")),
        "converted_holdout": int(ho.total("bought")),
        "conversion_treated": _rate(tr.total("bought"), risk_t),
        "conversion_holdout": _rate(ho.total("bought"), risk_h),
        **_interval_fields("conversion_uplift", conversion),
        "at_risk_treated": risk_t,
        "at_risk_holdout": risk_h,
        "retained_treated": ret_t,
        "retained_holdout": ret_h,
        "retention_treated": _rate(ret_t, risk_t),
        "retention_holdout": _rate(ret_h, risk_h),
        "retention_treated_ci_low": _r(wt[0]) if wt else None,
        "retention_treated_ci_high": _r(wt[1]) if wt else None,
        "retention_holdout_ci_low": _r(wh[0]) if wh else None,
        "retention_holdout_ci_high": _r(wh[1]) if wh else None,
        **_interval_fields("retention_uplift", retention),
        "retention_ci_method": _method(len(both), "newcombe", "stratified (Agresti-Caffo)"),
        "survival": survival,
        "arpu_pre_treated_fen": _r(tr.mean("pre_mean", "at_risk"), 2),
        "arpu_pre_holdout_fen": _r(ho.mean("pre_mean", "at_risk"), 2),
        **_interval_fields("arpu_pre_difference_fen", baseline, 2),
        "arpu_post_treated_fen": _r(tr.mean("post_mean", "n_arpu"), 2) if arpu else None,
        "arpu_post_holdout_fen": _r(ho.mean("post_mean", "n_arpu"), 2) if arpu else None,
        "arpu_change_treated_fen": _r(tr.mean("delta_mean", "n_arpu"), 2) if arpu else None,
        "arpu_change_holdout_fen": _r(ho.mean("delta_mean", "n_arpu"), 2) if arpu else None,
        "arpu_uplift_fen": None if arpu is None else round(arpu.estimate, 2),
        "arpu_uplift_ci_low_fen": None if arpu is None else round(arpu.low, 2),
        "arpu_uplift_ci_high_fen": None if arpu is None else round(arpu.high, 2),
        "arpu_uplift_df": None if arpu is None or arpu.df is None else round(arpu.df, 2),
        "arpu_ci_method": _method(
            len(both), "difference in differences, Welch", "stratified difference in differences"
        ),
        "revenue_retention_treated": _rate(post_t, pre_t) if arpu else None,
        "revenue_retention_holdout": _rate(post_h, pre_h) if arpu else None,
        "target_retention_uplift": target_r,
        "mde_retention_uplift": _r(mde_r),
        "target_arpu_uplift_fen": target_a,
        "mde_arpu_uplift_fen": _r(mde_a, 2),
        "mde_arpu_basis": mde_a_basis,
        "cost_fen": cost,
        "cost_per_retained_fen": round(cost / ret_t, 2) if ret_t else None,
        "cost_per_incremental_retained_fen": round(cost / incremental, 2) if incremental and incremental > 0 else None,
        "warnings": warnings,
    }


def _method(strata: int, one: str, many: str) -> str | None:
    return None if strata == 0 else one if strata == 1 else many


def _warnings(
    *,
    n_t: int,
    n_h: int,
    n_post: int,
    post_days: int,
    mde_r: float | None,
    target_r: float,
    mde_a: float | None,
    target_a: int,
    reach: float,
    low_reach: float,
    baseline: Interval | None,
    strata: int,
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def warn(code: str, detail: str) -> None:
        out.append({"code": code, "detail": detail})

    if n_h == 0 or n_t == 0:
        warn("no_comparison", "one arm is empty: there is nothing to compare the treated members with")
        return out
    if n_post == 0:
        warn(
            "post_period_too_short",
            f"no complete billed month after launch yet ({post_days} days measured): no ARPU effect is estimated, "
            "and retention covers only those days",
        )
    if mde_r is not None and mde_r > target_r:
        warn(
            "arm_too_small",
            f"with {n_t} treated and {n_h} hold-out members the smallest retention effect this report can detect "
            f"(80 % power, 5 % two-sided) is {mde_r * 100:.1f} pp, more than the {target_r * 100:.1f} pp the "
            f"campaign is meant to have",
        )
    if mde_a is not None and mde_a > target_a:
        warn(
            "arm_too_small_arpu",
            f"the smallest ARPU effect detectable with these arms is ¥{mde_a / 100:.2f} a month, more than the "
            f"¥{target_a / 100:.2f} the campaign is meant to have",
        )
    if reach / n_t < low_reach:
        warn(
            "low_reach",
            f"only {int(reach)} of {n_t} treated members were contacted: any effect is diluted "
            "over all treated members (intent to treat)",
        )
    if baseline is not None and not baseline.covers(0) and strata == 1:
        warn(
            "arms_differ_before_launch",
            "the arms' pre-launch ARPU differs more than chance usually allows; the difference in differences "
            "removes a level difference, not a different trend",
        )
    return out
