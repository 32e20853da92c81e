"""Touch, KPI, model-quality and four-high reports (seed 002 tracking; seed 001 KPI publication).

Touches: a contact is a touch whose outcome is not queued/sending/failed/cancelled. Success =
outcome in shared.touches.SUCCESS_OUTCOMES. Offline channels = hall, manager visit, manager call;
every other channel is online. Contacts per customer per year = contacts in the period ÷ active
customers in scope × 12 ÷ months in the period (seed 002 reports 4.8 a year).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.manager import kpis
from shared.models import ChurnModel, OrgUnit
from shared.reports.campaigns import NOT_CONTACT, OFFLINE_CHANNELS, _rate
from shared.touches.service import SUCCESS_OUTCOMES

TOUCH_GROUPS = {
    "month": "to_char(t.occurred_at AT TIME ZONE :tz, 'YYYY-MM')",
    "channel": "t.channel",
    "branch": "coalesce(c.branch_id::text, 'none')",
    "campaign": "coalesce(t.campaign_id::text, 'none')",
}


def month_bounds(first: date, last: date) -> tuple[date, date, int]:
    """[first month start, month after last) and the number of months."""
    start = first.replace(day=1)
    end_m = last.year * 12 + last.month
    end = date(end_m // 12, end_m % 12 + 1, 1)
    return start, end, (last.year - start.year) * 12 + last.month - start.month + 1


async def touch_report(
    session: AsyncSession, *, group_by: str, first: date, last: date, branch_id: int | None = None
) -> list[dict[str, Any]]:
    if group_by not in TOUCH_GROUPS:
        raise ValueError(group_by)
    start, end, months = month_bounds(first, last)
    params: dict[str, Any] = {
        "start": start, "end": end, "success": list(SUCCESS_OUTCOMES), "offline": list(OFFLINE_CHANNELS),
        "not_contact": list(NOT_CONTACT), "branch": branch_id, "tz": clock.TZ_NAME,
    }
    branch_filter = "AND c.branch_id = :branch" if branch_id is not None else ""
    rows = (await session.execute(text(f"""
        SELECT {TOUCH_GROUPS[group_by]} AS grp, count(*) AS touches, count(DISTINCT t.customer_id) AS customers,
               count(*) FILTER (WHERE t.outcome = ANY(:success)) AS ok,
               count(*) FILTER (WHERE t.channel = ANY(:offline)) AS off,
               count(*) FILTER (WHERE t.channel = ANY(:offline) AND t.outcome = ANY(:success)) AS off_ok,
               sum(t.cost_fen) AS cost
        FROM touches t JOIN customers c ON c.id = t.customer_id
        WHERE t.occurred_at >= (CAST(:start AS date) AT TIME ZONE :tz)
          AND t.occurred_at < (CAST(:end AS date) AT TIME ZONE :tz)
          AND t.outcome <> ALL(:not_contact) {branch_filter}
        GROUP BY 1 ORDER BY 1
    """), params)).all()
    if group_by == "branch":
        base_rows = (await session.execute(text(
            f"SELECT coalesce(branch_id::text, 'none'), count(*) FROM customers c WHERE status = 'active' {branch_filter} "
            "GROUP BY 1"), params)).all()
        bases = {g: n for g, n in base_rows}
    else:
        total = await session.scalar(text(
            f"SELECT count(*) FROM customers c WHERE status = 'active' {branch_filter}"), params) or 0
        bases = {}
    out = []
    for r in rows:
        base = bases.get(r.grp, 0) if group_by == "branch" else total
        span = 1 if group_by == "month" else months
        out.append({
            "group_by": group_by, "group": r.grp, "touches": r.touches, "customers_reached": r.customers,
            "active_customers": base,
            "contacts_per_customer_per_year": round(r.touches / base * 12 / span, 3) if base else None,
            "touch_success_rate": _rate(r.ok, r.touches),
            "offline_touches": r.off, "offline_success_rate": _rate(r.off_ok, r.off),
            "online_touches": r.touches - r.off, "online_success_rate": _rate(r.ok - r.off_ok, r.touches - r.off),
            "cost_fen": int(r.cost or 0),
        })
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
                "month": row["month"], "branch_id": bid, "branch": bname, "manager_id": row["manager_id"],
                "username": row["username"], "full_name": row["full_name"], "assigned": row["assigned"],
                "score": row["score"], "rank_in_branch": row["rank"],
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
            "version": m.version, "algorithm": m.algorithm, "trained_at": m.created_at.astimezone(clock.TZ).isoformat(),
            "train_from": m.train_from, "train_to": m.train_to, "active": m.active,
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
    rows = (await session.execute(text(f"""
        SELECT f.period, f.kind, count(*) AS flagged, count(f.cared_at) AS cared, count(f.normalised_on) AS normalised
        FROM four_high_flags f {"JOIN customers c ON c.id = f.customer_id" if branch_id is not None else ""}
        WHERE f.period >= :first AND f.period <= :last {"AND c.branch_id = :branch" if branch_id is not None else ""}
        GROUP BY 1, 2 ORDER BY 1, 2
    """), {"first": first, "last": last, "branch": branch_id})).all()
    return [{"period": r.period, "kind": r.kind, "flagged": r.flagged, "cared": r.cared, "normalised": r.normalised}
            for r in rows]
