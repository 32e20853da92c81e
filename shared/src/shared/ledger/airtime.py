"""The customer's airtime balance: a ledger account (asset airtime_fen, kind customer), plus arrears.

Opened lazily: the first caller creates the account and posts the opening balance (the latest
monthly_usage.balance_end_fen, from `airtime:issuance`, key `opening:airtime:<id>`) in its own
transaction. The ledger's `open_account` (INSERT ... ON CONFLICT) decides who opens: a concurrent
first caller waits on the unique index and then finds the account already opened (or, if the
opener rolled back, opens it itself), so the opening balance is posted exactly once.

Arrears (欠费): the customer account may not go negative (the ledger's CHECK), so a negative
closing balance opens a second account of the customer, kind `arrears` (allow_negative), debited
by what is owed (key `opening:arrears:<id>`, against `airtime:issuance`). The balance the customer
sees is the sum of both (negative while in arrears); a top-up pays the arrears account first.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.ledger import service as ledger
from shared.models import AccountKind, Asset, LedgerAccount, MonthlyUsage


async def signed_opening_fen(session: AsyncSession, customer_id: int) -> int:
    """The latest month's closing balance as billed (negative when in arrears)."""
    value = await session.scalar(
        select(MonthlyUsage.balance_end_fen)
        .where(MonthlyUsage.customer_id == customer_id)
        .order_by(MonthlyUsage.month.desc())
        .limit(1)
    )
    return int(value or 0)


async def opening_balance_fen(session: AsyncSession, customer_id: int) -> int:
    """What the (non-negative) customer account opens with: the closing balance, never below zero."""
    return max(0, await signed_opening_fen(session, customer_id))


async def arrears_account(session: AsyncSession, customer_id: int) -> int:
    """Id of the customer's arrears account (opened at zero if needed; may go negative)."""
    return await ledger.owner_account(
        session, asset=Asset.AIRTIME, kind=AccountKind.ARREARS, owner_id=customer_id, allow_negative=True
    )


async def airtime_account(session: AsyncSession, customer_id: int) -> int:
    """Id of the customer's airtime account, opening it (with its opening balance) if needed."""
    created = await ledger.open_account(session, asset=Asset.AIRTIME, kind=AccountKind.CUSTOMER, owner_id=customer_id)
    if created is None:
        return await ledger.customer_account(session, customer_id, Asset.AIRTIME)
    opening = await signed_opening_fen(session, customer_id)
    if opening != 0:
        issuance = await ledger.system_account(session, "airtime:issuance")
        owed = await arrears_account(session, customer_id) if opening < 0 else None
        await ledger.transfer(
            session,
            key=f"opening:airtime:{customer_id}" if opening > 0 else f"opening:arrears:{customer_id}",
            kind="airtime_opening" if opening > 0 else "arrears_opening",
            asset=Asset.AIRTIME,
            from_account=issuance if owed is None else owed,
            to_account=created if owed is None else issuance,
            amount=abs(opening),
            customer_id=customer_id,
            reference=f"customer:{customer_id}",
        )
    return int(created)


async def arrears_fen(session: AsyncSession, customer_id: int) -> int:
    """What the customer owes (>= 0): minus the arrears account's balance, or the unopened opening."""
    row = await session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.asset == Asset.AIRTIME,
            LedgerAccount.kind == AccountKind.ARREARS,
            LedgerAccount.owner_id == customer_id,
        )
    )
    if row is not None:
        return max(0, -int(row))
    opened = await session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.asset == Asset.AIRTIME,
            LedgerAccount.kind == AccountKind.CUSTOMER,
            LedgerAccount.owner_id == customer_id,
        )
    )
    return 0 if opened is not None else max(0, -(await signed_opening_fen(session, customer_id)))


async def airtime_balance_fen(session: AsyncSession, customer_id: int) -> int:
    """Read-only balance net of arrears (negative when in arrears), or the signed opening balance."""
    rows = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
                LedgerAccount.asset == Asset.AIRTIME,
                LedgerAccount.kind.in_([AccountKind.CUSTOMER, AccountKind.ARREARS]),
                LedgerAccount.owner_id == customer_id,
            )
        )
    ).one()
    if int(rows[0]):
        return int(rows[1])
    return await signed_opening_fen(session, customer_id)
