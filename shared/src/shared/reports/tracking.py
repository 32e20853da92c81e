"""Touch, KPI, model-quality and four-high reports (seed 002 tracking; seed 001 KPI publication).

Touches: a contact is a touch whose outcome is not queued/sending/failed/cancelled. A contact
succeeds when the customer took its offer: a success outcome (shared.touches.outcomes) or an
order credited to it (shared.reports.attribution, last touch within the window; orders up to
the window after the period count for touches in it). Offline channels = hall, outbound call,
manager call and visit; every other channel is online. Contacts per customer per year =
contacts in the period ÷ active customers in scope × 12 ÷ months in the period (seed 002
reports 4.8 a year).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.manager import kpis
from shared.models import ChurnModel, OrgUnit
from shared.reports import attribution
from shared.reports.campaigns import _rate
from shared.reports.stats import wilson
from shared.touches.outcomes import NOT_CONTACT, OFFLINE_CHANNELS, REACHED_OUTCOMES, SUCCESS_OUTCOMES

TOUCH_GROUPS = {
    "month": "to_char(t.occurred_at AT TIME ZONE :tz, 'YYYY-MM')",
    "channel": "t.channel",
    "channel_class": "CASE WHEN t.channel = ANY(:offline) THEN 'offline' ELSE 'online' END",
    "branch": "coalesce(c.branch_id::text, 'none')",
    "campaign": "coalesce(t.campaign_id::text, 'none')",
    "manager": "coalesce(t.staff_id::text, 'none')",
}


def month_bounds(first: date, last: date) -> tuple[date, date, int]:
    """[first month start, month after last) and the number of months."""
    start = first.replace(day=1)
    end_m = last.year * 12 + last.month
    end = date(end_m // 12, end_m % 12 + 1, 1)
    return start, end, (last.year - start.year) * 12 + last.month - start.month + 1


_TOUCHES = """
WITH o AS (
    SELECT s.id AS subscription_id, s.customer_id, s.product_id, s.created_at AS ordered_at
    FROM subscriptions s
    WHERE s.created_at >= (CAST(CAST(:start AS date) AS timestamp) AT TIME ZONE :tz)
      AND s.created_at < (CAST(CAST(:order_end AS date) AS timestamp) AT TIME ZONE :tz)
), {credit_ctes}
SELECT {group} AS grp, count(*) AS touches, count(DISTINCT t.customer_id) AS customers,
       count(*) FILTER (WHERE t.outcome = ANY(:success) OR cr.touch_id IS NOT NULL) AS ok,
       count(*) FILTER (WHERE t.outcome = ANY(:reached)) AS answered,
       count(*) FILTER (WHERE t.channel = ANY(:offline)) AS off,
       count(*) FILTER (WHERE t.channel = ANY(:offline) AND (t.outcome = ANY(:success) OR cr.touch_id IS NOT NULL))
           AS off_ok,
       sum(t.cost_fen) AS cost
FROM touches t JOIN customers c ON c.id = t.customer_id
LEFT JOIN (SELECT DISTINCT touch_id FROM credit WHERE touch_id IS NOT NULL) cr ON cr.touch_id = t.id
WHERE t.occurred_at >= (CAST(CAST(:start AS date) AS timestamp) AT TIME ZONE :tz)
  AND t.occurred_at < (CAST(CAST(:end AS date) AS timestamp) AT TIME ZONE :tz)
  AND t.outcome <> ALL(:not_contact) {branch_filter}
GROUP BY 1 ORDER BY 1
"""


async def touch_report(
    session: AsyncSession,
    *,
    group_by: str,
    first: date,
    last: date,
    branch_id: int | None = None,
    attribution_days: int | None = None,
) -> list[dict[str, Any]]:
    if group_by not in TOUCH_GROUPS:
        raise ValueError(group_by)
    start, end, months = month_bounds(first, last)
    window = await attribution.window_days(session, attribution_days)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "order_end": end + timedelta(days=window + 1),
        "success": list(SUCCESS_OUTCOMES),
        "offline": list(OFFLINE_CHANNELS),
        "reached": list(REACHED_OUTCOMES),
        "not_contact": list(NOT_CONTACT),
        "branch": branch_id,
        "tz": clock.TZ_NAME,
        **attribution.params(window),
    }
    branch_filter = "AND c.branch_id = :branch" if branch_id is not None else ""
    rows = (
        await session.execute(
            text(
                _TOUCHES.format(
                    group=TOUCH_GROUPS[group_by], credit_ctes=attribution.CREDIT_CTES, branch_filter=branch_filter
                )
            ),
            params,
        )
    ).all()
    if group_by == "branch":
        base_rows = (
            await session.execute(
                text(
                    f"SELECT coalesce(branch_id::text, 'none'), count(*) FROM customers c WHERE status = 'active' {branch_filter} "
                    "GROUP BY 1"
                ),
                params,
            )
        ).all()
        bases = {g: n for g, n in base_rows}
    else:
        total = (
            await session.scalar(
                text(f"SELECT count(*) FROM customers c WHERE status = 'active' {branch_filter}"), params
            )
            or 0
        )
        bases = {}
    out = []
    for r in rows:
        base = bases.get(r.grp, 0) if group_by == "branch" else total
        span = 1 if group_by == "month" else months
        ci = wilson(r.ok, r.touches)
        out.append(
            {
                "group_by": group_by,
                "group": r.grp,
                "touches": r.touches,
                "customers_reached": r.customers,
                "active_customers": base,
                "contacts_per_customer_per_year": round(r.touches / base * 12 / span, 3) if base else None,
                "answered": r.answered,
                "answer_rate": _rate(r.answered, r.touches),
                "touch_success_rate": _rate(r.ok, r.touches),
                "touch_success_ci_low": round(ci[0], 4) if ci else None,
                "touch_success_ci_high": round(ci[1], 4) if ci else None,
                "offline_touches": r.off,
                "offline_success_rate": _rate(r.off_ok, r.off),
                "online_touches": r.touches - r.off,
                "online_success_rate": _rate(r.ok - r.off_ok, r.touches - r.off),
                "cost_fen": int(r.cost or 0),
                "attribution_window_days": window,
            }
        )
    return out


async def manager_kpis(session: AsyncSession, *, month: date, branch_id: int | None = None) -> list[dict[str, Any]]:
    """Seed 001 table 1 per account manager for one month, ranked within each branch.

    Reuses the manager app's KPI computation (shared.manager.kpis), so both audiences publish
    the same figures.
    """

    stmt = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "branch").order_by(OrgUnit.id)
    if branch_id is not None:
        stmt = stmt.where(OrgUnit.id == branch_id)
    out = []
    for bid, bname in (await session.execute(stmt)).all():
        for row in await kpis.branch_ranking(session, bid, month):
            flat = {
                "month": row["month"],
                "branch_id": bid,
                "branch": bname,
                "manager_id": row["manager_id"],
                "username": row["username"],
                "full_name": row["full_name"],
                "assigned": row["assigned"],
                "score": row["score"],
                "rank_in_branch": row["rank"],
            }
            for ind in row["indicators"]:
                flat[f"{ind['code']} (w{ind['weight']})"] = ind["value"]
            out.append(flat)
    return out


async def churn_model_quality(session: AsyncSession) -> list[dict[str, Any]]:
    """Every churn model version with its measured quality, oldest first."""
    models = (await session.scalars(select(ChurnModel).order_by(ChurnModel.version))).all()
    out = []
    for m in models:
        row: dict[str, Any] = {
            "version": m.version,
            "algorithm": m.algorithm,
            "trained_at": m.created_at.astimezone(clock.TZ).isoformat(),
            "train_from": m.train_from,
            "train_to": m.train_to,
            "active": m.active,
        }
        for k, v in sorted((m.metrics or {}).items()):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                row[k] = round(float(v), 4)
        out.append(row)
    return out


async def four_high_counts(
    session: AsyncSession, *, first: date, last: date, branch_id: int | None = None
) -> list[dict[str, Any]]:
    """Flagged customers per period and kind, with how many were cared for and normalised."""
    rows = (
        await session.execute(
            text(f"""
        SELECT f.period, f.kind, count(*) AS flagged, count(f.cared_at) AS cared, count(f.normalised_on) AS normalised
        FROM four_high_flags f {"JOIN customers c ON c.id = f.customer_id" if branch_id is not None else ""}
        WHERE f.period >= :first AND f.period <= :last {"AND c.branch_id = :branch" if branch_id is not None else ""}
        GROUP BY 1, 2 ORDER BY 1, 2
    """),
            {"first": first, "last": last, "branch": branch_id},
        )
    ).all()
    return [
        {"period": r.period, "kind": r.kind, "flagged": r.flagged, "cared": r.cared, "normalised": r.normalised}
        for r in rows
    ]
