"""Watermarks of the incremental night: when a computation's last complete pass started, and
what it depended on. The next pass recomputes only customers changed since then, and everything
when the key (model version, cut-off month, rule versions) differs.

The instant recorded is the start of the oldest transaction still open when the pass begins,
not the pass's own start: a feed that began before the pass and commits during it stamps its
rows with its own (earlier) transaction time, and must still count as "changed" next night.
Only transactions that can write customer rows count: client sessions, not autovacuum workers
(whose transactions last for minutes over a freshly written table), and not transactions that
declared themselves readers (`declare_reader`: the churn trainer's frames, scoring's feature
reads). Counting either moved a pass's mark back over rows the run itself wrote before it, and
the next night found most customers "changed" and recomputed everyone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.transactions import own_transaction

READER = "tenure-reader"
"""the application_name a declared reader's transaction carries (`declare_reader`)"""

_INSTANT = f"""
SELECT least(now(), coalesce(min(xact_start), now())) FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND datname = current_database()
  AND backend_type = 'client backend' AND application_name IS DISTINCT FROM '{READER}'
"""


async def watermark_instant(session: AsyncSession) -> datetime:
    """Now, or the start of the oldest open transaction on this database that may write, if earlier."""
    return (await session.execute(text(_INSTANT))).scalar_one()


async def declare_reader(session: AsyncSession) -> None:
    """Make the session's transaction read-only (PostgreSQL refuses its writes) and say so in
    pg_stat_activity, so pass watermarks do not wait for it. Both settings end with the
    transaction; call it first in a transaction that only reads."""
    await session.execute(text("SET LOCAL transaction_read_only = on"))
    await session.execute(text(f"SET LOCAL application_name = '{READER}'"))


async def last_pass(session: AsyncSession, name: str, key: dict[str, Any]) -> datetime | None:
    """When the last complete pass of `name` with this key started; None when there was none (or another key)."""
    row = (
        await session.execute(text("SELECT started_at, key FROM engine_watermarks WHERE name = :n"), {"n": name})
    ).first()
    if row is None or row.key != key:
        return None
    return row.started_at


async def record_pass(
    sm: async_sessionmaker[AsyncSession], name: str, started_at: datetime, key: dict[str, Any]
) -> None:
    async with own_transaction(sm) as s:
        await s.execute(
            text(
                "INSERT INTO engine_watermarks (name, started_at, key) VALUES (:n, :t, CAST(:k AS jsonb)) "
                "ON CONFLICT (name) DO UPDATE SET started_at = EXCLUDED.started_at, key = EXCLUDED.key, updated_at = now()"
            ),
            {"n": name, "t": started_at, "k": json.dumps(key)},
        )


async def forget(sm: async_sessionmaker[AsyncSession], name: str | None = None) -> None:
    """Drop a watermark (or all): the next pass is a full one."""
    async with own_transaction(sm) as s:
        if name is None:
            await s.execute(text("DELETE FROM engine_watermarks"))
        else:
            await s.execute(text("DELETE FROM engine_watermarks WHERE name = :n"), {"n": name})
