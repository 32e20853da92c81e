"""Keyset chunk boundaries from the ids that exist, for batch jobs over big tables.

Fixed-width ranges over min..max id degrade badly when ids are sparse (imported ids, test data
with large bases): a job would walk millions of empty ranges. These boundaries hold at most
`size` rows each, whatever the id distribution.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TABLES = frozenset({"customers", "ledger_accounts"})


async def id_chunks(session: AsyncSession, *, table: str, size: int) -> list[tuple[int, int]]:
    """Ranges (lo, hi] covering every id of `table` in ascending order, each with ≤ size rows."""
    if table not in _TABLES:
        raise ValueError(f"no chunking defined for {table}")
    marks = (
        (
            await session.execute(
                text(
                    f"""
                SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {table}) t
                WHERE rn % :size = 0
                UNION SELECT max(id) FROM {table}
                ORDER BY 1
                """
                ),
                {"size": size},
            )
        )
        .scalars()
        .all()
    )
    bounds: list[tuple[int, int]] = []
    lo = 0
    for hi in marks:
        if hi is None or hi <= lo:
            continue
        bounds.append((lo, int(hi)))
        lo = int(hi)
    return bounds
