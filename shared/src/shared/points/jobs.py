"""Set-based points jobs: expiry (daily) and accrual by tier and bill (monthly).

Both walk customer/account id ranges in chunks, one short transaction per chunk, and are
idempotent per chunk (ledger keys per account per day / per customer per month), so a crashed run
is simply restarted. A session-level advisory lock per job skips a run while another is in flight.
Run as a process: `python -m shared.points.jobs expire [YYYY-MM-DD]` or `accrue YYYY-MM`.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.chunks import id_chunks
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.locking import Lock, session_lock
from shared.db.transactions import own_transaction
from shared.errors import Conflict
from shared.ledger import bulk
from shared.ledger import service as ledger
from shared.models import Asset
from shared.points import rules
from shared.programme import settings as programme_settings
from shared.settings import get_settings

SQL = Path(__file__).parent / "sql"
_EXPIRE = text(bulk.compose((SQL / "expire.sql").read_text()))
_ACCRUE = text(bulk.compose((SQL / "accrue.sql").read_text()))
_OPEN_ACCRUAL_ACCOUNTS = bulk.open_customer_accounts(
    "SELECT c.id AS customer_id FROM customers c JOIN monthly_usage u ON u.customer_id = c.id AND u.month = :month "
    "WHERE c.id > :lo AND c.id <= :hi AND c.status = 'active'",
    asset=Asset.POINTS,
)


@asynccontextmanager
async def job_lock(sm: async_sessionmaker[AsyncSession], name: str) -> AsyncIterator[None]:
    """Session-level advisory lock on a dedicated autocommit connection (no idle transaction).

    Raises Conflict when another run holds it. The lock dies with the connection, so a crashed
    run never leaves it behind.
    """
    async with session_lock(sm.kw["bind"], Lock.POINTS_JOB, name) as got:
        if not got:
            raise Conflict("this job is already running", job=name)
        yield


async def _chunk_settings(session: AsyncSession) -> None:
    # CTE row estimates are 1, so the planner would join txns to amounts with a nested loop:
    # quadratic in the chunk size. Batch statements hash-join instead.
    await session.execute(text("SET LOCAL statement_timeout = '120s'"))
    await session.execute(text("SET LOCAL enable_nestloop = off"))


async def run_expiry(sm: async_sessionmaker[AsyncSession], *, today: date, chunk: int = 5000) -> dict[str, Any]:
    """Expire every customer's points whose expires_on < today. Raises Conflict if a run is in flight."""
    totals = {"accounts": 0, "points": 0, "chunks": 0}
    async with job_lock(sm, "jobs.points.expiry"):
        async with own_transaction(sm) as s:
            sink = await ledger.system_account(s, "points:expiry")
            bounds = await id_chunks(s, table="ledger_accounts", size=chunk)
        for lo, hi in bounds:
            async with own_transaction(sm) as s:
                await _chunk_settings(s)
                # Lock first (in id order) so the next statement's snapshot sees every
                # committed spend of these accounts; concurrent spends wait for the chunk.
                await s.execute(
                    text(
                        "SELECT id FROM ledger_accounts WHERE asset = 'points' AND kind = 'customer' "
                        "AND balance > 0 AND id > :lo AND id <= :hi ORDER BY id FOR UPDATE"
                    ),
                    {"lo": lo, "hi": hi},
                )
                row = (
                    await s.execute(
                        _EXPIRE,
                        {"lo": lo, "hi": hi, "today": today, "today_s": today.isoformat(), "sink": sink},
                    )
                ).one()
                bulk.raise_if_refused(row.refused, job="points.expiry")
            totals["accounts"] += int(row.accounts)
            totals["points"] += int(row.points)
            totals["chunks"] += 1
    return {**totals, "as_of": today.isoformat()}


async def run_accrual(sm: async_sessionmaker[AsyncSession], *, month: date, chunk: int = 5000) -> dict[str, Any]:
    """Credit points for `month` (first day) by tier and bill. Raises Conflict if a run is in flight."""
    month = month.replace(day=1)
    month_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    totals = {"customers": 0, "points": 0, "chunks": 0}
    async with job_lock(sm, "jobs.points.accrual"):
        async with own_transaction(sm) as s:
            src = await ledger.system_account(s, "points:issuance:accrual")
            rule = await programme_settings.get(s, programme_settings.POINTS_ACCRUAL)
            expiry_rule = await programme_settings.get(s, programme_settings.POINTS_EXPIRY)
            bounds = await id_chunks(s, table="customers", size=chunk)
        until = rules.expires_on(expiry_rule, month_end)
        for lo, hi in bounds:
            params = {"lo": lo, "hi": hi}
            async with own_transaction(sm) as s:
                await _chunk_settings(s)
                await s.execute(_OPEN_ACCRUAL_ACCOUNTS, {**params, "month": month})
                row = (
                    await s.execute(
                        _ACCRUE,
                        {
                            **params,
                            "month": month,
                            "month_end": month_end,
                            "month_s": month.strftime("%Y-%m"),
                            "rule": json.dumps(rule),
                            "src": src,
                            "expires_on": until,
                        },
                    )
                ).one()
                bulk.raise_if_refused(row.refused, job="points.accrual")
            totals["customers"] += int(row.customers)
            totals["points"] += int(row.points)
            totals["chunks"] += 1
    return {**totals, "month": month.strftime("%Y-%m")}


def _main() -> None:  # pragma: no cover - CLI wrapper

    parser = argparse.ArgumentParser(prog="python -m shared.points.jobs")
    sub = parser.add_subparsers(dest="job", required=True)
    e = sub.add_parser("expire")
    e.add_argument("day", nargs="?", type=date.fromisoformat)
    a = sub.add_parser("accrue")
    a.add_argument("month", type=lambda s: date.fromisoformat(f"{s}-01"))
    args = parser.parse_args()

    async def go() -> None:
        engine = create_engine(get_settings(), process=f"jobs.points.{args.job}")
        sm = create_sessionmaker(engine)
        try:
            if args.job == "expire":
                print(await run_expiry(sm, today=args.day or clock.today()))
            else:
                print(await run_accrual(sm, month=args.month))
        finally:
            await engine.dispose()

    asyncio.run(go())


if __name__ == "__main__":  # pragma: no cover
    _main()
