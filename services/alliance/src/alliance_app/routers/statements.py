"""Settlement statements, read-only for the merchant (the back office generates and settles)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from alliance_app.auth import CurrentMerchant
from shared.alliance import settlement
from shared.models import Settlement
from shared.web.deps import ReadSession
from shared.web.params import IntId

router = APIRouter(prefix="/v1", tags=["statements"])


class StatementOut(BaseModel):
    id: int
    period_start: date
    period_end: date
    lines: dict[str, Any]
    operator_owes_fen: int
    merchant_owes_fen: int
    status: str
    settled_at: datetime | None

    @classmethod
    def of(cls, s: Settlement) -> StatementOut:
        return cls(
            id=s.id,
            period_start=s.period_start,
            period_end=s.period_end,
            lines=s.lines,
            operator_owes_fen=s.operator_owes_fen,
            merchant_owes_fen=s.merchant_owes_fen,
            status=s.status,
            settled_at=s.settled_at,
        )


@router.get("/statements", response_model=list[StatementOut], summary="This merchant's statements, newest first")
async def list_statements(
    principal: CurrentMerchant,
    session: ReadSession,
    before_id: IntId | None = None,
    limit: int = Query(24, ge=1, le=100),
) -> list[StatementOut]:
    rows = await settlement.list_statements(
        session, merchant_id=principal.id, status=None, before_id=before_id, limit=limit
    )
    return [StatementOut.of(s) for s in rows]


@router.get(
    "/statements/{statement_id}",
    response_model=StatementOut,
    responses={404: {"description": "not found"}},
    summary="One of this merchant's statements",
)
async def get_statement(statement_id: IntId, principal: CurrentMerchant, session: ReadSession) -> StatementOut:
    return StatementOut.of(
        await settlement.get_statement(session, settlement_id=statement_id, merchant_id=principal.id)
    )
