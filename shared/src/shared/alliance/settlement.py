"""Settlement statements: per merchant per period, computed in SQL, stored, reproducible.

Amounts owed:
- the operator owes the merchant the settlement value of coupons redeemed in the period, less
  the value of redemptions reversed in the period;
- the merchant owes the operator the prepaid top-ups credited in the period (the packs it then
  bought are paid from that balance and listed, cross-checked against the ledger);
- a negative net (more reversed than redeemed) moves to the merchant's side.
`recompute` runs the same SQL without storing; a stored statement must always equal it for
closed periods. Statements marked settled never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.alliance import onboarding, webhooks
from shared.alliance.errors import InvalidTransition
from shared.errors import NotFound, Unprocessable
from shared.models import Merchant, Settlement

_SQL = text((Path(__file__).parent / "sql" / "settlement.sql").read_text())
TZ = clock.TZ_NAME


@dataclass(frozen=True, slots=True)
class Computed:
    lines: dict[str, Any]
    operator_owes_fen: int
    merchant_owes_fen: int


async def recompute(session: AsyncSession, *, merchant_id: int, period_start: date, period_end: date) -> Computed:
    """The statement as the source rows and the ledger say it is now (nothing stored)."""
    if period_end < period_start:
        raise Unprocessable("period_end must not be before period_start")
    row = (
        await session.execute(
            _SQL, {"merchant_id": merchant_id, "period_start": period_start, "period_end": period_end, "tz": TZ}
        )
    ).one()
    lines = dict(row.lines)
    lines["period"] = {"start": period_start.isoformat(), "end": period_end.isoformat(), "timezone": TZ}
    net = int(row.net_redemptions_fen)
    topups = int(row.topups_fen)
    return Computed(lines, max(net, 0), topups + max(-net, 0))


async def generate(session: AsyncSession, *, merchant_id: int, period_start: date, period_end: date) -> Settlement:
    """Compute and store (upsert) a merchant's statement; a settled statement is returned as is.

    Concurrency: the UNIQUE (merchant, period) upsert makes two concurrent generations converge
    on one row. Raises NotFound, Unprocessable.
    """
    merchant = await onboarding.get(session, merchant_id)
    computed = await recompute(session, merchant_id=merchant_id, period_start=period_start, period_end=period_end)
    values = {
        "lines": computed.lines,
        "operator_owes_fen": computed.operator_owes_fen,
        "merchant_owes_fen": computed.merchant_owes_fen,
    }
    new_row = insert(Settlement).values(
        merchant_id=merchant_id, period_start=period_start, period_end=period_end, status="open", **values
    )
    stmt = new_row.on_conflict_do_update(
        index_elements=["merchant_id", "period_start", "period_end"],
        set_=values,
        where=Settlement.status == "open",
    ).returning(Settlement.id)
    sid = await session.scalar(stmt)
    settlement = await session.scalar(
        select(Settlement)
        .where(
            Settlement.merchant_id == merchant_id,
            Settlement.period_start == period_start,
            Settlement.period_end == period_end,
        )
        .execution_options(populate_existing=True)
    )
    assert settlement is not None
    if sid is not None:
        await webhooks.enqueue(
            session,
            merchant=merchant,
            event="statement.generated",
            payload={
                "statement_id": settlement.id,
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "operator_owes_fen": settlement.operator_owes_fen,
                "merchant_owes_fen": settlement.merchant_owes_fen,
            },
        )
    return settlement


async def generate_all(session: AsyncSession, *, period_start: date, period_end: date) -> list[Settlement]:
    """Every merchant that has been approved at some point (the alliance has tens, not millions)."""
    ids = (
        await session.scalars(
            select(Merchant.id).where(Merchant.status.in_(("approved", "suspended", "ended"))).order_by(Merchant.id)
        )
    ).all()
    return [await generate(session, merchant_id=m, period_start=period_start, period_end=period_end) for m in ids]


async def mark_settled(session: AsyncSession, *, settlement_id: int) -> Settlement:
    """open → settled (guarded; repeating it is a no-op). Raises NotFound."""
    done = await session.scalar(
        update(Settlement)
        .where(Settlement.id == settlement_id, Settlement.status == "open")
        .values(status="settled", settled_at=datetime.now(UTC))
        .returning(Settlement.id)
    )
    settlement = await session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound("statement not found", statement_id=settlement_id)
    await session.refresh(settlement)
    if done is not None:
        merchant = await onboarding.get(session, settlement.merchant_id)
        await webhooks.enqueue(
            session,
            merchant=merchant,
            event="statement.settled",
            payload={
                "statement_id": settlement.id,
                "settled_at": settlement.settled_at.isoformat() if settlement.settled_at else None,
            },
        )
    elif settlement.status != "settled":
        raise InvalidTransition("statement cannot be settled", status=settlement.status)
    return settlement


async def matches_ledger(session: AsyncSession, settlement: Settlement) -> bool:
    """True when the stored statement equals a from-scratch recomputation."""
    fresh = await recompute(
        session,
        merchant_id=settlement.merchant_id,
        period_start=settlement.period_start,
        period_end=settlement.period_end,
    )
    return (fresh.lines, fresh.operator_owes_fen, fresh.merchant_owes_fen) == (
        settlement.lines,
        settlement.operator_owes_fen,
        settlement.merchant_owes_fen,
    )


async def list_statements(
    session: AsyncSession, *, merchant_id: int | None, status: str | None, before_id: int | None, limit: int
) -> list[Settlement]:
    stmt = select(Settlement)
    if merchant_id is not None:
        stmt = stmt.where(Settlement.merchant_id == merchant_id)
    if status:
        stmt = stmt.where(Settlement.status == status)
    if before_id:
        stmt = stmt.where(Settlement.id < before_id)
    return list((await session.scalars(stmt.order_by(Settlement.id.desc()).limit(limit))).all())


async def get_statement(session: AsyncSession, *, settlement_id: int, merchant_id: int | None = None) -> Settlement:
    """`merchant_id` scopes the lookup for merchants; another merchant's statement is 'not found'."""
    stmt = select(Settlement).where(Settlement.id == settlement_id)
    if merchant_id is not None:
        stmt = stmt.where(Settlement.merchant_id == merchant_id)
    settlement = await session.scalar(stmt)
    if settlement is None:
        raise NotFound("statement not found", statement_id=settlement_id)
    return settlement
