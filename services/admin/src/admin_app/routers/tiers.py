"""Tier rules (ordinary 1–4 stars; VIP five-star, gold, diamond — seed 000): read, edit, and see
how many customers each tier holds. The nightly run applies them; defaults are seeded when the
table is empty."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import text

from admin_app.auth import AnyStaff, Strategists
from admin_app.routers._backoffice import Strict, record
from shared.engine.tiers import seed_default_rules
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Count, Fen

router = APIRouter(prefix="/v1", tags=["tiers"])
TierName = Literal["star1", "star2", "star3", "star4", "star5", "gold", "diamond"]


class TierRuleIn(Strict):
    rank: Annotated[Count, Field(ge=1, le=100)]
    min_tenure_months: Annotated[Count, Field(le=1200)]
    min_avg_bill_fen: Fen
    benefits: list[str] = Field(default_factory=list, max_length=30)


class TierRuleOut(TierRuleIn):
    tier: str


class TierCount(BaseModel):
    tier: str
    customers: int


@router.get("/tiers/rules", response_model=list[TierRuleOut], summary="Tier rules, highest rank last")
async def list_rules(principal: AnyStaff, session: WriteSession) -> list[TierRuleOut]:
    await seed_default_rules(session)  # first look at an empty table shows (and stores) the defaults
    rows = await session.execute(
        text("SELECT tier, rank, min_tenure_months, min_avg_bill_fen, benefits FROM tier_rules ORDER BY rank")
    )
    return [TierRuleOut(**dict(r._mapping)) for r in rows]


@router.put(
    "/tiers/rules/{tier}",
    response_model=TierRuleOut,
    summary="Set a tier's thresholds (tenure months and 6-month average bill) and benefits",
)
async def put_rule(
    tier: TierName, body: TierRuleIn, principal: Strategists, request: Request, session: WriteSession
) -> TierRuleOut:
    import json

    await seed_default_rules(session)
    await session.execute(
        text(
            "INSERT INTO tier_rules (tier, rank, min_tenure_months, min_avg_bill_fen, benefits) "
            "VALUES (:t, :r, :m, :b, CAST(:bf AS jsonb)) ON CONFLICT (tier) DO UPDATE SET rank = EXCLUDED.rank, "
            "min_tenure_months = EXCLUDED.min_tenure_months, min_avg_bill_fen = EXCLUDED.min_avg_bill_fen, benefits = EXCLUDED.benefits"
        ),
        {
            "t": tier,
            "r": body.rank,
            "m": body.min_tenure_months,
            "b": body.min_avg_bill_fen,
            "bf": json.dumps(body.benefits, ensure_ascii=False),
        },
    )
    await record(session, request, principal, "tier_rule.put", "tier_rule", tier, body.model_dump())
    return TierRuleOut(tier=tier, **body.model_dump())


@router.get("/tiers/distribution", response_model=list[TierCount], summary="Customers per tier")
async def distribution(principal: AnyStaff, session: ReadSession) -> list[TierCount]:
    rows = await session.execute(
        text("SELECT tier, count(*) AS customers FROM customers WHERE status <> 'churned' GROUP BY tier ORDER BY tier")
    )
    return [TierCount(**dict(r._mapping)) for r in rows]
