"""The customer's airtime balance: a ledger account (asset airtime_fen, kind customer).

Opened lazily: the first caller creates the account and posts the opening balance (the latest
monthly_usage.balance_end_fen, from `airtime:issuance`, key `opening:airtime:<id>`) in its own
transaction. The ledger's `open_account` (INSERT ... ON CONFLICT) decides who opens: a concurrent
first caller waits on the unique index and then finds the account already opened (or, if the
opener rolled back, opens it itself), so the opening balance is posted exactly once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.ledger import service as ledger
from shared.models import AccountKind, Asset, LedgerAccount, MonthlyUsage


async def opening_balance_fen(session: AsyncSession, customer_id: int) -> int:
    """What the account opens with: the latest month's closing balance (never below zero)."""
    value = await session.scalar(
        select(MonthlyUsage.balance_end_fen)
        .where(MonthlyUsage.customer_id == customer_id)
        .order_by(MonthlyUsage.month.desc())
        .limit(1)
    )
    return max(0, int(value or 0))


async def airtime_account(session: AsyncSession, customer_id: int) -> int:
    """Id of the customer's airtime account, opening it (with its opening balance) if needed."""
    created = await ledger.open_account(session, asset=Asset.AIRTIME, kind=AccountKind.CUSTOMER, owner_id=customer_id)
    if created is None:
        return await ledger.customer_account(session, customer_id, Asset.AIRTIME)
    opening = await opening_balance_fen(session, customer_id)
    if opening > 0:
        issuance = await ledger.system_account(session, "airtime:issuance")
        await ledger.transfer(
            session,
            key=f"opening:airtime:{customer_id}",
            kind="airtime_opening",
            asset=Asset.AIRTIME,
            from_account=issuance,
            to_account=created,
            amount=opening,
            customer_id=customer_id,
            reference=f"customer:{customer_id}",
        )
    return int(created)


async def airtime_balance_fen(session: AsyncSession, customer_id: int) -> int:
    """Read-only balance: the account's balance, or the opening balance it would open with."""
    row = await session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.asset == Asset.AIRTIME,
            LedgerAccount.kind == AccountKind.CUSTOMER,
            LedgerAccount.owner_id == customer_id,
        )
    )
    if row is not None:
        return int(row)
    return await opening_balance_fen(session, customer_id)
