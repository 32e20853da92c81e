"""Four-high anomalies (seed 004) for the back office: thresholds, daily and monthly lists (by
kind, branch and care status), counts over time, and the share of cared-for customers whose
behaviour returned to normal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import text

from admin_app.auth import Analysts, Strategists
from admin_app.routers.engine import put_engine_setting
from shared import clock
from shared.engine import fourhigh
from shared.engine.fourhigh import month_period
from shared.masking import mask_name, mask_phone
from shared.programme import settings as programme_settings
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import After, IntId

router = APIRouter(prefix="/v1", tags=["four-high"])
Kind = Literal["tariff", "payg_data", "silence", "arpu_mismatch"]
Care = Literal["to_care", "cared", "normalised"]


class FlagOut(BaseModel):
    customer_id: int
    phone: str | None
    name: str | None
    branch_id: int | None
    kind: str
    period: date
    value: float | None
    cared_at: Any | None
    normalised_on: date | None


class FlagPage(BaseModel):
    items: list[FlagOut]
    next_after: int | None
    """with next_after_kind: pass both as after / after_kind for the next page"""
    next_after_kind: str | None = None


class CountOut(BaseModel):
    period: date
    kind: str
    n: int
    cared: int
    normalised: int


class EffectOut(BaseModel):
    cared: int
    normalised: int
    share: float | None


@router.get("/four-high/thresholds", response_model=dict[str, float | int], summary="Current thresholds")
async def thresholds(principal: Analysts, session: ReadSession) -> dict[str, Any]:
    return await programme_settings.get(session, "four_high")


@router.put(
    "/four-high/thresholds", response_model=dict[str, float | int], summary="Change thresholds (next run applies them)"
)
async def put_thresholds(
    body: dict[str, float], principal: Strategists, request: Request, session: WriteSession
) -> dict[str, Any]:
    return await put_engine_setting(session, request, principal, "four_high", body)


@router.get(
    "/four-high/flags",
    response_model=FlagPage,
    summary="Daily (period=a day) or monthly (granularity=month: period = the month) list of flagged customers",
)
async def flags(
    principal: Analysts,
    session: ReadSession,
    granularity: Literal["day", "month"] = "day",
    period: date | None = Query(None, description="Day, or any day of the month; default: today / last month"),
    kind: Kind | None = None,
    branch_id: IntId | None = Query(None, description="customers of this branch only"),
    care: Care | None = Query(None, description="to_care: not cared for yet; cared: cared, not normal yet; normalised"),
    after: After = 0,
    after_kind: Kind | None = Query(None, description="with `after`: continue after this kind of that customer"),
    limit: int = Query(50, ge=1, le=500),
) -> FlagPage:
    if granularity == "month":
        day = month_period(period or (clock.today().replace(day=1) - timedelta(days=1)))
    else:
        day = period or clock.today()
    rows = await session.execute(
        text(
            """
        SELECT h.customer_id, c.phone, c.name, c.branch_id, h.kind, h.period, h.value, h.cared_at, h.normalised_on
        FROM four_high_flags h JOIN customers c ON c.id = h.customer_id
        WHERE h.period = :p AND (CAST(:k AS text) IS NULL OR h.kind = :k)
          AND (h.customer_id > :after OR (h.customer_id = :after AND h.kind > CAST(:ak AS text)))
          AND (CAST(:b AS int) IS NULL OR c.branch_id = :b)
          AND (CAST(:care AS text) IS NULL
               OR (:care = 'to_care' AND h.cared_at IS NULL)
               OR (:care = 'cared' AND h.cared_at IS NOT NULL AND h.normalised_on IS NULL)
               OR (:care = 'normalised' AND h.normalised_on IS NOT NULL))
        ORDER BY h.customer_id, h.kind LIMIT :n
        """
        ),
        {"p": day, "k": kind, "b": branch_id, "care": care, "after": after, "ak": after_kind, "n": limit},
    )
    items = [FlagOut(**{**dict(r._mapping), "phone": mask_phone(r.phone), "name": mask_name(r.name)}) for r in rows]
    # Keyset on (customer, kind): a customer flagged for several kinds is never split across pages.
    last = items[-1] if len(items) == limit else None
    return FlagPage(
        items=items, next_after=last.customer_id if last else None, next_after_kind=last.kind if last else None
    )


@router.get("/four-high/counts", response_model=list[CountOut], summary="Flag counts per period and kind over time")
async def counts(
    principal: Analysts,
    session: ReadSession,
    granularity: Literal["day", "month"] = "day",
    since: date | None = None,
    until: date | None = None,
) -> list[CountOut]:
    end = until or clock.today()
    start = since or date(end.year - 1, end.month, 1)
    return [
        CountOut(**r) for r in await fourhigh.counts_over_time(session, granularity=granularity, since=start, until=end)
    ]


@router.get(
    "/four-high/care-effect",
    response_model=dict[str, EffectOut],
    summary="Share of cared-for customers whose behaviour returned to normal (per kind and 'all')",
)
async def care_effect(principal: Analysts, session: ReadSession, since: date | None = None) -> dict[str, Any]:
    return await fourhigh.care_effect(session, since=since)
