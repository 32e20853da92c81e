"""The one CSV writer for exports (back-office reports, audit log, import error lists).

Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a staff name like `=1+2+cmd|' /C calc'!A0` in a KPI export
would execute on the analyst's machine. Such text cells get a leading `'`, which spreadsheets
show as plain text. Numbers are written as numbers (a negative amount stays a number).
Not for files the platform reads back (the import's COPY staging writes raw values).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """UTF-8 with a BOM (spreadsheet programs then read Chinese names right), header row first."""
    rows = list(rows)
    cols = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in cols])
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in cols])
    return buf.getvalue().encode("utf-8-sig")
