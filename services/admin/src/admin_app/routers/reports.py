"""Tracking reports (seeds 000, 002) and KPI publication (seed 001). Every report also as CSV (`?format=csv`).

Branch heads get the figures of their own branch only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from admin_app.auth import can
from admin_app.routers._backoffice import Format, csv_response
from shared import clock
from shared.backoffice.permissions import branch_scope
from shared.campaigns import service as campaign_service
from shared.errors import Unprocessable
from shared.reports import attribution, revenue, tracking
from shared.reports import campaigns as campaign_reports
from shared.web.deps import ReadSession
from shared.web.params import MONTH, IntId, first_of_month

router = APIRouter(prefix="/v1/reports", tags=["reports"])
AttributionDays = Query(None, ge=1, le=90, description="attribution window in days (default: the programme setting, 7)")


class ReportWarning(BaseModel):
    code: str
    """no_comparison · post_period_too_short · arm_too_small · arm_too_small_arpu · low_reach · arms_differ_before_launch"""
    detail: str


class SurvivalPoint(BaseModel):
    day: int
    treated: float | None
    holdout: float | None


class CampaignReportRow(BaseModel):
    """Treated vs hold-out over the members as they were at launch, measured from the launch."""

    group_by: str
    group: str
    members: int
    treated: int
    holdout: int
    campaigns: int
    measured_from: str | None
    """the launch day: both arms are measured from here"""
    as_of: str
    post_days: int
    post_months: int
    """complete billed months after the launch (ARPU needs at least one)"""
    first_post_month: str | None
    last_post_month: str | None
    excluded_churned_before_launch: int
    reached: int
    reach_rate: float | None
    touches: int
    touches_per_member: float | None
    answered: int
    touch_success_rate: float | None
    """touches whose offer the customer took (a success outcome or a credited order); Wilson 95 % CI"""
    touch_success_ci_low: float | None
    touch_success_ci_high: float | None
    offline_touches: int
    offline_success_rate: float | None
    online_touches: int
    online_success_rate: float | None
    accepted: int
    acceptance_rate: float | None
    orders_attributed: int
    orders_attributed_fen: int
    attribution_window_days: int
    attribution_rule: str
    converted_treated: int
    converted_holdout: int
    conversion_treated: float | None
    conversion_holdout: float | None
    conversion_uplift: float | None
    """members who ordered the offered product after launch (any channel), treated − hold-out; Newcombe 95 %"""
    conversion_uplift_ci_low: float | None
    conversion_uplift_ci_high: float | None
    at_risk_treated: int
    at_risk_holdout: int
    retained_treated: int
    retained_holdout: int
    retention_treated: float | None
    retention_holdout: float | None
    retention_treated_ci_low: float | None
    retention_treated_ci_high: float | None
    retention_holdout_ci_low: float | None
    retention_holdout_ci_high: float | None
    retention_uplift: float | None
    """treated − hold-out survival from launch; CI: Newcombe hybrid score 95 % (strata: Agresti–Caffo)"""
    retention_uplift_ci_low: float | None
    retention_uplift_ci_high: float | None
    retention_ci_method: str | None
    survival: list[SurvivalPoint]
    arpu_pre_treated_fen: float | None
    arpu_pre_holdout_fen: float | None
    arpu_pre_difference_fen: float | None
    arpu_pre_difference_fen_ci_low: float | None
    arpu_pre_difference_fen_ci_high: float | None
    arpu_post_treated_fen: float | None
    arpu_post_holdout_fen: float | None
    arpu_change_treated_fen: float | None
    arpu_change_holdout_fen: float | None
    arpu_uplift_fen: float | None
    """difference in differences of the monthly bill (post-launch months − the 3 months before; churned = 0); Welch 95 %"""
    arpu_uplift_ci_low_fen: float | None
    arpu_uplift_ci_high_fen: float | None
    arpu_uplift_df: float | None
    arpu_ci_method: str | None
    revenue_retention_treated: float | None
    """post-launch monthly bills ÷ pre-launch monthly bills of the arm (seed 000's 收入保有率)"""
    revenue_retention_holdout: float | None
    target_retention_uplift: float
    mde_retention_uplift: float | None
    """smallest retention effect these arms detect with 80 % power (two-sided 5 %)"""
    target_arpu_uplift_fen: int
    mde_arpu_uplift_fen: float | None
    mde_arpu_basis: str
    cost_fen: int
    cost_per_retained_fen: float | None
    cost_per_incremental_retained_fen: float | None
    warnings: list[ReportWarning]


class CampaignDetail(BaseModel):
    summary: CampaignReportRow | None
    by_branch: list[CampaignReportRow]
    by_manager: list[CampaignReportRow] = []


class TouchReportRow(BaseModel):
    group_by: str
    group: str
    touches: int
    customers_reached: int
    active_customers: int
    contacts_per_customer_per_year: float | None
    answered: int
    answer_rate: float | None
    touch_success_rate: float | None
    """a success outcome or an order credited to the touch (last touch within the window); Wilson 95 %"""
    touch_success_ci_low: float | None
    touch_success_ci_high: float | None
    offline_touches: int
    offline_success_rate: float | None
    online_touches: int
    online_success_rate: float | None
    cost_fen: int
    attribution_window_days: int


class AttributedOrder(BaseModel):
    subscription_id: int
    customer_id: int
    product_id: int
    product_name: str
    order_channel: str
    charge_fen: int
    status: str
    ordered_at: str
    touch_id: int | None
    recommendation_id: int | None
    campaign_id: int | None
    credited_channel: str | None
    credited_class: str | None
    credited_staff_id: int | None
    offered_at: str | None
    attribution_rule: str


class AttributionGroup(BaseModel):
    group_by: str
    group: str
    orders: int
    charge_fen: int
    from_touches: int
    from_recommendations: int


class RevenueRetentionRow(BaseModel):
    group_by: str
    group: str
    base_month: str
    first_month: str
    last_month: str
    months: int
    stock: int
    """customers billed in the base month"""
    base_revenue_fen: int
    period_revenue_fen: int
    revenue_retention: float | None
    """seed 000 累积出账收入保有率: period bills ÷ (months × base-month bills) of the stock"""
    month_revenue_retention: float | None
    retained: int
    customer_retention: float | None
    arpu_base_fen: float | None
    arpu_period_fen: float | None


class Overview(BaseModel):
    """The dashboard's measures for one period (each with the report that breaks it down)."""

    period_from: str
    period_to: str
    revenue_retention: RevenueRetentionRow | None
    offline: TouchReportRow | None
    online: TouchReportRow | None
    contacts_per_customer_per_year: float | None
    campaigns: list[CampaignReportRow]


def _month(value: str | None, default: date) -> date:
    return first_of_month(value) if value else default


def _today() -> date:

    return clock.now().date()


def _cell(value: Any) -> Any:
    """Nested report values as one CSV cell (warnings by code, survival as day:treated/hold-out)."""
    if isinstance(value, list):
        return "; ".join(
            v["code"] if "code" in v else f"{v['day']}d:{v['treated']}/{v['holdout']}" if "day" in v else str(v)
            for v in value
            if isinstance(v, dict)
        )
    return value


def _maybe_csv(rows: list[dict[str, Any]], format: str, name: str, model: type[BaseModel] | None = None):  # type: ignore[no-untyped-def]
    """The rows, or the same rows as CSV (with the model's header even when there are none)."""
    if format != "csv":
        return rows
    columns = list(model.model_fields) if model is not None else None
    return csv_response([{k: _cell(v) for k, v in r.items()} for r in rows], f"{name}.csv", columns)


@router.get(
    "/campaigns",
    response_model=list[CampaignReportRow],
    summary="Treated vs hold-out: reach, touches, success, acceptance, retention and ARPU uplift with 95 % CI, cost",
)
async def campaigns_report(
    principal: can("reports.read"),
    session: ReadSession,
    group_by: Literal["campaign", "strategy", "channel", "branch", "manager", "month"] = "campaign",
    campaign_id: list[IntId] | None = Query(None, max_length=100, description="limit to these campaigns"),
    as_of: date | None = Query(None, description="measured up to this day (default today)"),
    attribution_days: int | None = AttributionDays,
    format: str = Format,
):  # type: ignore[no-untyped-def]
    rows = await campaign_reports.campaign_report(
        session,
        group_by=group_by,
        campaign_ids=campaign_id,
        branch_id=branch_scope(principal),
        as_of=as_of,
        attribution_days=attribution_days,
    )
    return _maybe_csv(rows, format, f"campaigns-by-{group_by}", CampaignReportRow)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignDetail,
    summary="One campaign: summary and the same figures per branch",
)
async def campaign_detail(
    campaign_id: IntId,
    principal: can("reports.read"),
    session: ReadSession,
    as_of: date | None = None,
    attribution_days: int | None = AttributionDays,
    format: str = Format,
):  # type: ignore[no-untyped-def]
    await campaign_service.get_campaign(session, campaign_id)
    scope = branch_scope(principal)
    kw: dict[str, Any] = {
        "campaign_ids": [campaign_id],
        "branch_id": scope,
        "as_of": as_of,
        "attribution_days": attribution_days,
    }
    summary = await campaign_reports.campaign_report(session, **kw)
    by_branch = await campaign_reports.campaign_report(session, group_by="branch", **kw)
    by_manager = await campaign_reports.campaign_report(session, group_by="manager", **kw)
    if format == "csv":
        return _maybe_csv(summary + by_branch + by_manager, "csv", f"campaign-{campaign_id}", CampaignReportRow)
    return CampaignDetail(summary=summary[0] if summary else None, by_branch=by_branch, by_manager=by_manager)


@router.get(
    "/touches",
    response_model=list[TouchReportRow],
    summary="Contacts per customer per year and touch success rate (offline vs online)",
)
async def touches_report(
    principal: can("reports.read"),
    session: ReadSession,
    group_by: Literal["month", "channel", "channel_class", "branch", "campaign", "manager"] = "month",
    from_: str | None = Query(
        None, alias="from", pattern=MONTH, description="first month YYYY-MM (default: 11 months ago)"
    ),
    to: str | None = Query(None, pattern=MONTH, description="last month YYYY-MM (default: this month)"),
    attribution_days: int | None = AttributionDays,
    format: str = Format,
):  # type: ignore[no-untyped-def]
    last = _month(to, _today().replace(day=1))
    first = _month(from_, campaign_service.add_months(last, -11))
    rows = await tracking.touch_report(
        session,
        group_by=group_by,
        first=first,
        last=last,
        branch_id=branch_scope(principal),
        attribution_days=attribution_days,
    )
    return _maybe_csv(rows, format, f"touches-by-{group_by}", TouchReportRow)


@router.get(
    "/attribution",
    response_model=list[AttributedOrder] | list[AttributionGroup],
    summary="Orders with the touch, campaign or recommendation each is credited to (last touch within the window)",
)
async def attribution_report(
    principal: can("reports.read"),
    session: ReadSession,
    from_: date | None = Query(None, alias="from", description="first order day (default: 30 days ago)"),
    to: date | None = Query(None, description="last order day (default: today)"),
    group_by: Literal["order", "campaign", "channel", "order_channel"] = "order",
    attribution_days: int | None = AttributionDays,
    format: str = Format,
):  # type: ignore[no-untyped-def]
    last = to or _today()
    first = from_ or last - timedelta(days=30)
    if first > last or (last - first).days > 366:
        raise Unprocessable(
            "from must be on or before to, at most a year apart", **{"from": str(first), "to": str(last)}
        )
    window = await attribution.window_days(session, attribution_days)
    rows = await attribution.attributed_orders(
        session, first=first, last=last, window=window, branch_id=branch_scope(principal)
    )
    if group_by != "order":
        rows = attribution.summarise(rows, group_by)
    return _maybe_csv(
        rows, format, f"attribution-{first}-{last}", AttributedOrder if group_by == "order" else AttributionGroup
    )


@router.get(
    "/revenue-retention",
    response_model=list[RevenueRetentionRow],
    summary="Revenue retention (seed 000 累积出账收入保有率), customer retention and ARPU of the stock",
)
async def revenue_retention_report(
    principal: can("reports.read"),
    session: ReadSession,
    group_by: Literal["total", "branch", "manager", "month"] = "total",
    base: str | None = Query(None, pattern=MONTH, description="base month YYYY-MM (default: December of last year)"),
    to: str | None = Query(
        None, pattern=MONTH, description="last month YYYY-MM (default: the last complete billed one)"
    ),
    format: str = Format,
):  # type: ignore[no-untyped-def]
    rows = await revenue.revenue_retention(
        session,
        group_by=group_by,
        base=first_of_month(base) if base else None,
        last=first_of_month(to) if to else None,
        branch_id=branch_scope(principal),
    )
    return _maybe_csv(rows, format, f"revenue-retention-by-{group_by}", RevenueRetentionRow)


@router.get(
    "/overview",
    response_model=Overview,
    summary="The dashboard: revenue retention, touch success offline vs online, contacts per customer, campaigns",
)
async def overview(
    principal: can("reports.read"),
    session: ReadSession,
    from_: str | None = Query(None, alias="from", pattern=MONTH, description="first month YYYY-MM (default: January)"),
    to: str | None = Query(None, pattern=MONTH, description="last month YYYY-MM (default: this month)"),
):  # type: ignore[no-untyped-def]
    scope = branch_scope(principal)
    last = _month(to, _today().replace(day=1))
    first = _month(from_, last.replace(month=1))
    rr = await revenue.revenue_retention(session, branch_id=scope)
    classes = {
        r["group"]: r
        for r in await tracking.touch_report(session, group_by="channel_class", first=first, last=last, branch_id=scope)
    }
    total = sum(r["touches"] for r in classes.values())
    any_row = next(iter(classes.values()), None)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    cpc = (
        round(total / any_row["active_customers"] * 12 / months, 3) if any_row and any_row["active_customers"] else None
    )
    campaigns = await campaign_reports.campaign_report(session, branch_id=scope)
    return Overview(
        period_from=first.isoformat()[:7],
        period_to=last.isoformat()[:7],
        revenue_retention=rr[0] if rr else None,
        offline=classes.get("offline"),
        online=classes.get("online"),
        contacts_per_customer_per_year=cpc,
        campaigns=campaigns,
    )


@router.get(
    "/manager-kpis",
    response_model=list[dict[str, Any]],
    summary="Account-manager KPI table for a month (seed 001 table 1, weights in the column names)",
)
async def manager_kpis(
    principal: can("reports.read"),
    session: ReadSession,
    month: str | None = Query(None, pattern=MONTH, description="YYYY-MM (default: this month)"),
    branch_id: IntId | None = None,
    format: str = Format,
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
    principal: can("reports.read"),
    session: ReadSession,
    from_: date | None = Query(None, alias="from"),
    to: date | None = None,
    format: str = Format,
):  # type: ignore[no-untyped-def]
    last = to or _today()
    first = from_ or campaign_service.add_months(last.replace(day=1), -11)
    rows = await tracking.four_high_counts(session, first=first, last=last, branch_id=branch_scope(principal))
    return _maybe_csv(rows, format, "four-high")
