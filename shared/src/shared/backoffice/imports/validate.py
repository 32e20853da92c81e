"""Row validation, cheap per row: the csv module parses, unsigned-integer columns are checked all
at once with C-level string operations, and only the columns that need it get a Python check.

A `RowChecker` turns one parsed CSV row into the staging line `line_no,<fields...>` (CSV, ready for
COPY) or an error reason. Chunks are processed in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter

from shared.backoffice.imports.layouts import INT_DIGITS, Column, Layout
from shared.backoffice.imports.quality import Reasons, row_reason

MAX_ERRORS_KEPT = 1000


class HeaderError(ValueError):
    """The header row is unusable: the whole file is refused."""


@dataclass
class ChunkResult:
    data: bytes
    good: int
    bad: int
    errors: list[dict[str, object]] = field(default_factory=list)
    last_line: int = 0
    done: bool = False
    reasons: Reasons = field(default_factory=Reasons)


# Text columns whose check admits only [A-Za-z0-9_.-] or an enum value: never need CSV quoting.
_SAFE_TEXT = frozenset(
    {
        "plan_code",
        "branch_code",
        "phone",
        "id_number",
        "gender",
        "status",
        "price_band",
        "category",
        "source_ref",
        "product_code",
        "from_plan_code",
        "to_plan_code",
        "kind",
    }
)


def _needs_quoting(col: Column) -> bool:
    return col.sqltype == "text" and col.target not in _SAFE_TEXT


class RowChecker:
    """Built once per file from its header."""

    def __init__(self, layout: Layout, header: list[str]) -> None:
        names = [h.strip().lower() for h in header]
        known = layout.by_name()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise HeaderError(f"unknown column(s): {', '.join(unknown)}; expected some of: {', '.join(known)}")
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise HeaderError(f"column(s) given twice: {', '.join(sorted(dupes))}")
        missing = [c.name for c in layout.columns if c.required and c.name not in names]
        if missing:
            raise HeaderError(f"missing required column(s): {', '.join(missing)}")
        self.layout = layout
        self.width = len(names)
        self.columns: list[Column] = [known[n] for n in names]
        self.uint_idx = [i for i, c in enumerate(self.columns) if c.kind == "uint"]
        self.other = [(i, c.check) for i, c in enumerate(self.columns) if c.kind != "uint"]
        self._uints = itemgetter(*self.uint_idx) if len(self.uint_idx) > 1 else None
        self.quote = any(_needs_quoting(c) for c in self.columns)

    @property
    def targets(self) -> list[str]:
        return [c.target for c in self.columns]

    def _uints_ok(self, row: list[str]) -> bool:
        if not self.uint_idx:
            return True
        if self._uints is None:
            v = row[self.uint_idx[0]]
            return v.isdigit() and len(v) <= INT_DIGITS
        vals = self._uints(row)
        # One join + isdigit checks every column is digits; the lengths catch empties and overflow.
        return "".join(vals).isdigit() and min(map(len, vals)) > 0 and max(map(len, vals)) <= INT_DIGITS

    def check(self, row: list[str]) -> list[str | None]:
        """Return the row's staging values or raise ValueError(reason)."""
        if len(row) != self.width:
            raise ValueError(f"expected {self.width} fields, found {len(row)}")
        out: list[str | None] = list(row)
        if not self._uints_ok(row):
            for i in self.uint_idx:  # slow path only to name the bad column
                self.columns[i].check(row[i])
        for i, check in self.other:
            out[i] = check(row[i])
        return out


def process_chunk(
    reader: Iterator[list[str]], line_of: LineCounter, checker: RowChecker, n: int, errors_room: int
) -> ChunkResult:
    """Read up to n records; return the staging CSV for the good ones and reasons for the bad ones."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n") if checker.quote else None
    good = bad = 0
    errors: list[dict[str, object]] = []
    reasons = Reasons()
    done = False
    write = buf.write
    check = checker.check
    for _ in range(n):
        try:
            row = next(reader)
        except StopIteration:
            done = True
            break
        except csv.Error as exc:
            bad += 1
            reasons["unreadable_csv"] += 1
            if len(errors) < errors_room:
                errors.append({"line": line_of.value, "reason": f"unreadable CSV: {exc}"})
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        line = line_of.value
        try:
            values = check(row)
        except ValueError as exc:
            bad += 1
            reasons[row_reason(str(exc))] += 1
            if len(errors) < errors_room:
                errors.append({"line": line, "reason": str(exc)})
            continue
        good += 1
        if writer is not None:
            writer.writerow((line, *values))
        else:
            write(f"{line},{','.join(v or '' for v in values)}\n")  # safe: numbers, dates, codes
    return ChunkResult(buf.getvalue().encode(), good, bad, errors, line_of.value, done, reasons)


class LineCounter:
    """Physical line number of the record just read (csv.reader.line_num, header = line 1)."""

    def __init__(self, reader: csv._reader) -> None:  # type: ignore[name-defined]
        self._reader = reader

    @property
    def value(self) -> int:
        return self._reader.line_num
