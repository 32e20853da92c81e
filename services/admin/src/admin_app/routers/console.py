"""The back-office web console: a static single-page app served from `static/console/`.

Routers cannot `app.mount`, so a catch-all GET serves files by name. Invariants:
- only files inside the console directory are ever served (the resolved path must stay under it;
  `..`, absolute paths, symlinks out and hidden files give 404);
- nothing is loaded from the internet: the Content-Security-Policy allows only this origin, so a
  stray CDN link would fail in the browser tests rather than silently work;
- the page itself holds no data; every figure comes from the authenticated `/v1` API.

`GET /v1/console/overview` is the one figure set the dashboard needs that no report offers:
customers by tier × churn risk and the monthly churn trend. Both are single set-based aggregates
(GROUP BY over customers, LEFT JOIN profiles; never a loop over customers). Branch heads get their
branch's figures only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from admin_app.auth import can
from shared import clock
from shared.backoffice.permissions import branch_scope
from shared.errors import NotFound
from shared.web.deps import ReadSession

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static" / "console").resolve()

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}

router = APIRouter(tags=["console"])


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def resolve_asset(relative: str) -> Path:
    """Map a URL path below /console/ to a file in STATIC_DIR, or raise NotFound.

    An empty path or a path without a file extension is an app route and gets index.html.
    """
    parts = [p for p in relative.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        raise NotFound("no such file")
    if not parts or "." not in parts[-1]:
        return STATIC_DIR / "index.html"
    candidate = STATIC_DIR.joinpath(*parts).resolve()
    if not candidate.is_relative_to(STATIC_DIR) or not candidate.is_file():
        raise NotFound("no such file")
    return candidate


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console", include_in_schema=False)
async def console_bare() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/{path:path}", include_in_schema=False)
async def console_file(path: str) -> Response:
    file = resolve_asset(path)
    media = _MEDIA.get(file.suffix.lower(), "application/octet-stream")
    return FileResponse(file, media_type=media, headers=_headers())


# --- dashboard figures --------------------------------------------------------------------------


class TierRisk(BaseModel):
    tier: str
    risk_level: str | None
    """null: not scored yet (no profile or no churn score)"""
    customers: int


class ChurnMonth(BaseModel):
    month: str
    """YYYY-MM"""
    base: int
    """customers on the network at the start of the month"""
    churned: int
    churn_rate: float | None
    """churned / base"""


class Overview(BaseModel):
    customers: int
    """customers not churned"""
    by_tier_risk: list[TierRisk]
    churn_trend: list[ChurnMonth]


_TIER_RISK = text("""
    SELECT c.tier, p.risk_level, count(*) AS customers
    FROM customers c LEFT JOIN customer_profiles p ON p.customer_id = c.id
    WHERE c.status <> 'churned' AND (CAST(:branch AS int) IS NULL OR c.branch_id = :branch)
    GROUP BY 1, 2 ORDER BY 1, 2
""")

# Base at the start of month m = joined before m − churned before m; one aggregate pass per side.
_CHURN_TREND = text("""
    WITH scope AS (
        SELECT join_date, churned_on FROM customers WHERE CAST(:branch AS int) IS NULL OR branch_id = :branch
    ), joined AS (
        SELECT date_trunc('month', join_date)::date AS m, count(*) AS n FROM scope GROUP BY 1
    ), left_ AS (
        SELECT date_trunc('month', churned_on)::date AS m, count(*) AS n
        FROM scope WHERE churned_on IS NOT NULL GROUP BY 1
    ), months AS (
        SELECT generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 month')::date AS m
    )
    SELECT to_char(months.m, 'YYYY-MM') AS month,
           coalesce((SELECT sum(n) FROM joined WHERE joined.m < months.m), 0)
             - coalesce((SELECT sum(n) FROM left_ WHERE left_.m < months.m), 0) AS base,
           coalesce((SELECT n FROM left_ WHERE left_.m = months.m), 0) AS churned
    FROM months ORDER BY months.m
""")


def _month_start(d: date, back: int) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


@router.get(
    "/v1/console/overview",
    response_model=Overview,
    summary="Dashboard figures: customers by tier and churn risk, monthly churn trend",
)
async def overview(
    principal: can("reports.read"),
    session: ReadSession,
    months: int = Query(12, ge=1, le=36, description="how many months of churn trend, ending this month"),
) -> Overview:
    branch = branch_scope(principal)
    rows = (await session.execute(_TIER_RISK, {"branch": branch})).all()
    today = clock.now().date()
    trend = (
        await session.execute(
            _CHURN_TREND,
            {
                "branch": branch,
                "first": _month_start(today, months - 1),
                "last": _month_start(today, 0),
            },
        )
    ).all()
    return Overview(
        customers=sum(r.customers for r in rows),
        by_tier_risk=[TierRisk(tier=r.tier, risk_level=r.risk_level, customers=r.customers) for r in rows],
        churn_trend=[
            ChurnMonth(
                month=r.month,
                base=int(r.base),
                churned=int(r.churned),
                churn_rate=(int(r.churned) / int(r.base)) if r.base else None,
            )
            for r in trend
        ],
    )
