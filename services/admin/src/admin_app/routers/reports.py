"""Tracking reports (seed 002) and KPI publication (seed 001). Every report also as CSV (`?format=csv`).

Branch heads get the figures of their own branch only.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from admin_app.auth import can
from admin_app.routers._backoffice import Format, csv_response
from shared import clock
from shared.backoffice.permissions import branch_scope
from shared.campaigns import service as campaign_service
from shared.reports import campaigns as campaign_reports
from shared.reports import tracking
from shared.web.deps import ReadSession
from shared.web.params import IntId, MONTH, first_of_month

router = APIRouter(prefix="/v1/reports", tags=["reports"])



class CampaignReportRow(BaseModel):
    group_by: str
    group: str
    members: int
    treated: int
    holdout: int
    reached: int
    reach_rate: float | None
    touches: int
    touches_per_member: float | None
    touch_success_rate: float | None
    offline_touches: int
    offline_success_rate: float | None
    online_touches: int
    online_success_rate: float | None
    accepted: int
    acceptance_rate: float | None
    retained_treated: int
    retained_holdout: int
    retention_treated: float | None
    retention_holdout: float | None
    retention_uplift: float | None
    """treated − hold-out retention rate; CI: difference of proportions, normal approximation, 95 %"""
    retention_uplift_ci_low: float | None
    retention_uplift_ci_high: float | None
    arpu_change_treated_fen: float | None
    arpu_change_holdout_fen: float | None
    arpu_uplift_fen: float | None
    """difference of mean ARPU change (fen); CI: Welch t, 95 %"""
    arpu_uplift_ci_low_fen: float | None
    arpu_uplift_ci_high_fen: float | None
    arpu_uplift_df: float | None
    cost_fen: int
    cost_per_retained_fen: float | None
    cost_per_incremental_retained_fen: float | None


class CampaignDetail(BaseModel):
    summary: CampaignReportRow | None
    by_branch: list[CampaignReportRow]


class TouchReportRow(BaseModel):
    group_by: str
    group: str
    touches: int
    customers_reached: int
    active_customers: int
    contacts_per_customer_per_year: float | None
    touch_success_rate: float | None
    offline_touches: int
    offline_success_rate: float | None
    online_touches: int
    online_success_rate: float | None
    cost_fen: int


def _month(value: str | None, default: date) -> date:
    return first_of_month(value) if value else default


def _today() -> date:

    return clock.now().date()


def _maybe_csv(rows: list[dict[str, Any]], format: str, name: str):  # type: ignore[no-untyped-def]
    return csv_response(rows, f"{name}.csv") if format == "csv" else rows


@router.get("/campaigns", response_model=list[CampaignReportRow],
            summary="Treated vs hold-out: reach, touches, success, acceptance, retention and ARPU uplift with 95 % CI, cost")
async def campaigns_report(
    principal: can("reports.read"), session: ReadSession,
    group_by: Literal["campaign", "strategy", "channel", "branch", "month"] = "campaign",
    campaign_id: list[IntId] | None = Query(None, max_length=100, description="limit to these campaigns"),
    as_of: date | None = Query(None, description="retention measured at this day (default today)"),
    format: str = Format,
):  # type: ignore[no-untyped-def]
    rows = await campaign_reports.campaign_report(
        session, group_by=group_by, campaign_ids=campaign_id, branch_id=branch_scope(principal), as_of=as_of,
    )
    return _maybe_csv(rows, format, f"campaigns-by-{group_by}")


@router.get("/campaigns/{campaign_id}", response_model=CampaignDetail,
            summary="One campaign: summary and the same figures per branch")
async def campaign_detail(
    campaign_id: IntId, principal: can("reports.read"), session: ReadSession,
    as_of: date | None = None, format: str = Format,
):  # type: ignore[no-untyped-def]
    await campaign_service.get_campaign(session, campaign_id)
    scope = branch_scope(principal)
    summary = await campaign_reports.campaign_report(session, campaign_ids=[campaign_id], branch_id=scope, as_of=as_of)
    by_branch = await campaign_reports.campaign_report(
        session, group_by="branch", campaign_ids=[campaign_id], branch_id=scope, as_of=as_of
    )
    if format == "csv":
        return csv_response(summary + by_branch, f"campaign-{campaign_id}.csv")
    return CampaignDetail(summary=summary[0] if summary else None, by_branch=by_branch)


@router.get("/touches", response_model=list[TouchReportRow],
            summary="Contacts per customer per year and touch success rate (offline vs online)")
async def touches_report(
    principal: can("reports.read"), session: ReadSession,
    group_by: Literal["month", "channel", "branch", "campaign"] = "month",
    from_: str | None = Query(None, alias="from", pattern=MONTH, description="first month YYYY-MM (default: 11 months ago)"),
    to: str | None = Query(None, pattern=MONTH, description="last month YYYY-MM (default: this month)"),
    format: str = Format,
):  # type: ignore[no-untyped-def]
    last = _month(to, _today().replace(day=1))
    first = _month(from_, campaign_service.add_months(last, -11))
    rows = await tracking.touch_report(session, group_by=group_by, first=first, last=last,
                                       branch_id=branch_scope(principal))
    return _maybe_csv(rows, format, f"touches-by-{group_by}")


@router.get("/manager-kpis", response_model=list[dict[str, Any]],
            summary="Account-manager KPI table for a month (seed 001 table 1, weights in the column names)")
async def manager_kpis(
    principal: can("reports.read"), session: ReadSession,
    month: str | None = Query(None, pattern=MONTH, description="YYYY-MM (default: this month)"),
    branch_id: IntId | None = None, format: str = Format,
):  # type: ignore[no-untyped-def]
    scope = branch_scope(principal)
    rows = await tracking.manager_kpis(
        session, month=_month(month, _today().replace(day=1)), branch_id=scope if scope is not None else branch_id
    )
    return _maybe_csv(rows, format, f"manager-kpis-{month or 'current'}")


@router.get("/churn-models", response_model=list[dict[str, Any]], summary="Churn model quality by version")
async def churn_models(principal: can("reports.read"), session: ReadSession, format: str = Format):  # type: ignore[no-untyped-def]
    return _maybe_csv(await tracking.churn_model_quality(session), format, "churn-models")


@router.get("/four-high", response_model=list[dict[str, Any]], summary="Four-high flags per period and kind")
async def four_high(
    principal: can("reports.read"), session: ReadSession,
    from_: date | None = Query(None, alias="from"), to: date | None = None, format: str = Format,
):  # type: ignore[no-untyped-def]
    last = to or _today()
    first = from_ or campaign_service.add_months(last.replace(day=1), -11)
    rows = await tracking.four_high_counts(session, first=first, last=last, branch_id=branch_scope(principal))
    return _maybe_csv(rows, format, "four-high")
