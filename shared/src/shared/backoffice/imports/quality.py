"""The data-quality report of one load (a CSV import or a feed batch), stored on the job row.

{"rows": n, "rows_ok": n, "rows_bad": n, "changed": n, "unchanged": n,
 "bad_by_reason": {"invalid:voice_min": 3, "unknown_subscriber": 1, ...},
 "duplicates": n,                        # rows repeating an earlier row's key in the same load
 "months": {"2026-10": n, ...},          # rows per month of the facts loaded
 "late_months": {"2026-08": n, ...}}     # months older than the newest already loaded before
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.backoffice.imports.layouts import Layout

DUPLICATE = "duplicate_key"


class Reasons(Counter[str]):
    """Bad rows counted by a stable reason code (every bad row, not only the first 1000 kept)."""


def row_reason(message: str) -> str:
    """The code of a per-row check's message: `invalid:<column>`, `field_count` or `unreadable_csv`."""
    if message.startswith("expected "):
        return "field_count"
    if message.startswith("unreadable CSV"):
        return "unreadable_csv"
    return f"invalid:{message.split(' ', 1)[0]}"


async def months_in_load(session: AsyncSession, layout: Layout, stage: str) -> dict[str, dict[str, int]]:
    """Rows per month in the staging table, and which of those months arrive late: older than the
    newest month already in the target table before this load (the engine may have used it)."""
    if layout.period is None:
        return {"months": {}, "late_months": {}}
    stage_expr, table, target_expr = layout.period
    tz = {"tz": clock.TZ_NAME}
    rows = (
        await session.execute(
            text(f"SELECT to_char({stage_expr}, 'YYYY-MM') AS m, count(*) FROM {stage} GROUP BY 1 ORDER BY 1"), tz
        )
    ).all()
    months = {m: int(n) for m, n in rows if m is not None}
    if not months:
        return {"months": {}, "late_months": {}}
    newest = await session.scalar(
        text(
            f"SELECT to_char(max({target_expr}), 'YYYY-MM') FROM {table} WHERE {target_expr} >= to_date(:lo, 'YYYY-MM')"
        ),
        {**tz, "lo": min(months)},
    )
    late = {m: n for m, n in months.items() if newest is not None and m < newest}
    return {"months": months, "late_months": late}


def report(
    *, rows_total: int, rows_bad: int, rows_changed: int, reasons: Reasons, months: dict[str, dict[str, int]]
) -> dict[str, Any]:
    ok = rows_total - rows_bad
    return {
        "rows": rows_total,
        "rows_ok": ok,
        "rows_bad": rows_bad,
        "changed": rows_changed,
        "unchanged": max(ok - rows_changed, 0),
        "bad_by_reason": dict(sorted(reasons.items())),
        "duplicates": reasons.get(DUPLICATE, 0),
        **months,
    }
