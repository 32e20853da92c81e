"""Ledger accounts of the alliance.

- Operator budgets (`alliance:budget:<asset>`): what the operator contributed to the alliance in
  points, airtime and data. They may NOT go negative, so gifts beyond the budget are refused by
  the ledger's guarded UPDATE.
- `alliance:prepaid:funding` (airtime_fen): counter-side of back-office top-ups of merchants'
  prepaid accounts; `alliance:packs:revenue` (airtime_fen): where pack purchases are paid to.
- A merchant's prepaid account is the ledger account (asset airtime_fen, kind merchant, owner =
  merchant id) and may not go negative.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.ledger import service as ledger
from shared.ledger.airtime import airtime_account
from shared.models import AccountKind, Asset, LedgerAccount

BUDGET_ASSETS = (Asset.POINTS, Asset.AIRTIME, Asset.DATA)
ISSUANCE = {Asset.POINTS: "points:issuance", Asset.AIRTIME: "airtime:issuance", Asset.DATA: "data:issuance"}
PREPAID_FUNDING = "alliance:prepaid:funding"
PACK_REVENUE = "alliance:packs:revenue"


def budget_code(asset: str) -> str:
    return f"alliance:budget:{asset}"


async def named_account(session: AsyncSession, code: str, *, asset: str, allow_negative: bool) -> int:
    """Id of a named system account with an explicit asset, created on first use (race-safe)."""
    return await ledger.system_account(session, code, asset=asset, allow_negative=allow_negative)


async def budget_account(session: AsyncSession, asset: str) -> int:
    return await named_account(session, budget_code(asset), asset=asset, allow_negative=False)


async def merchant_prepaid_account(session: AsyncSession, merchant_id: int) -> int:
    return await ledger.owner_account(session, asset=Asset.AIRTIME, kind=AccountKind.MERCHANT, owner_id=merchant_id)


async def customer_airtime_account(session: AsyncSession, customer_id: int) -> int:
    """The customer's airtime balance account (opened with its opening balance on first use)."""
    return await airtime_account(session, customer_id)


async def customer_asset_account(session: AsyncSession, customer_id: int, asset: str) -> int:
    if asset == Asset.AIRTIME:
        return await customer_airtime_account(session, customer_id)
    return await ledger.customer_account(session, customer_id, asset)


async def balances(session: AsyncSession) -> dict[str, int]:
    """Current operator budget per asset (0 when never funded)."""
    rows = (
        await session.execute(
            select(LedgerAccount.code, LedgerAccount.balance).where(
                LedgerAccount.code.in_([budget_code(a) for a in BUDGET_ASSETS])
            )
        )
    ).all()
    found = {code: int(bal) for code, bal in rows}
    return {str(a): found.get(budget_code(a), 0) for a in BUDGET_ASSETS}
