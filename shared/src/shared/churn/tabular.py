"""Turn any churn table (a CSV export, or rows from our own feature SQL) into typed arrays.

Nothing here knows a column name in advance: the caller names the label (and optionally the id),
every other column is typed by looking at its values. Identifier-like columns are refused as
features, because an id that happens to correlate with the label (ids issued in sign-up order,
exported churners sorted last) is leakage, not signal.
"""
from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MISSING_CATEGORY = "(missing)"  # a missing category is a level of its own: "not answered" often predicts
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a"})
POSITIVE_TOKENS = ("yes", "true", "1", "y", "t", "churn", "churned", "left", "lost", "1.0")
NUMERIC_SHARE = 0.95  # a column is numeric when this share of its non-missing values parse as numbers
MAX_CATEGORY_SHARE = 0.5  # a text column with more distinct values than this share of rows is an identifier/free text


class TableError(ValueError):
    """The table cannot be modelled as given (no such label, one class only, no usable feature)."""


@dataclass(frozen=True)
class FeatureSpec:
    """How to read one feature: numeric (float, NaN = missing) or categorical (str, None = missing)."""

    name: str
    kind: str  # "numeric" | "categorical"


@dataclass
class Table:
    """Typed feature matrix: numeric block (float64) + categorical block (object), label, ids."""

    features: list[FeatureSpec]
    numeric: np.ndarray  # (n, n_numeric) float64
    categorical: np.ndarray  # (n, n_categorical) object (str; MISSING_CATEGORY when absent)
    y: np.ndarray  # (n,) int8, 1 = churned
    ids: list[str] | None
    positive: str
    dropped: dict[str, str] = field(default_factory=dict)  # column -> reason it is not a feature

    @property
    def numeric_names(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical_names(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def matrix(self) -> np.ndarray:
        """One object matrix, numeric columns first: the input every pipeline in `pipeline.py` takes."""
        return to_matrix(self.numeric, self.categorical)

    def __len__(self) -> int:
        return len(self.y)


def to_matrix(numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    n = numeric.shape[0] if numeric.size or numeric.ndim == 2 else categorical.shape[0]
    out = np.empty((n, numeric.shape[1] + categorical.shape[1]), dtype=object)
    out[:, : numeric.shape[1]] = numeric
    out[:, numeric.shape[1] :] = categorical
    return out


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip()
    return None if v.lower() in MISSING_TOKENS else v


def _to_float(value: str | None) -> float:
    if value is None:
        return math.nan
    try:
        out = float(value)
    except ValueError:
        try:
            out = float(value.replace(",", ""))  # thousands separators: "1,234.50"
        except ValueError:
            return math.nan
    return out if math.isfinite(out) else math.nan


def _is_integer_valued(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return finite.size > 0 and bool(np.all(finite == np.round(finite)))


def resolve_positive(labels: Sequence[str], positive: str | None) -> str:
    """The label value meaning "churned": given, else a conventional token, else the minority class."""
    present = Counter(labels)
    if len(present) != 2:
        raise TableError(f"the label must have exactly two values, found {len(present)}: {sorted(present)[:5]}")
    if positive is not None:
        if positive not in present:
            raise TableError(f"positive value {positive!r} not among the label values {sorted(present)}")
        return positive
    by_lower = {v.lower(): v for v in present}
    for token in POSITIVE_TOKENS:
        if token in by_lower:
            return by_lower[token]
    return min(present, key=lambda v: (present[v], v))


def read_csv(path: str | Path, *, delimiter: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows; the delimiter is sniffed (comma, semicolon, tab, pipe) unless given."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(64_000)
        fh.seek(0)
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        rows = [r for r in reader if any(c.strip() for c in r)]
    return header, rows


def build_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Iterable[str] = (),
) -> Table:
    """Type every column but the label and id; rows without a label are dropped.

    Raises TableError when the label (or id) column is missing, the label is not binary or no
    feature column is left.
    """
    header = list(header)
    if label not in header:
        raise TableError(f"label column {label!r} not in the table; columns: {header}")
    if id_column is not None and id_column not in header:
        raise TableError(f"id column {id_column!r} not in the table")
    li = header.index(label)
    ii = header.index(id_column) if id_column else None
    cleaned = [[_clean(c) for c in r] + [None] * (len(header) - len(r)) for r in rows]
    cleaned = [r for r in cleaned if r[li] is not None]
    if not cleaned:
        raise TableError("no row has a label value")
    labels = [lab for r in cleaned if (lab := r[li]) is not None]  # every kept row has one
    pos = resolve_positive(labels, positive)
    y = np.fromiter((lab == pos for lab in labels), dtype=np.int8, count=len(labels))
    ids = [str(r[ii]) for r in cleaned] if ii is not None else None

    dropped: dict[str, str] = {label: "label"}
    if id_column:
        dropped[id_column] = "id column"
    for name in exclude:
        if name in header:
            dropped[name] = "excluded"
    n = len(cleaned)
    numeric_cols: list[np.ndarray] = []
    categorical_cols: list[list[str | None]] = []
    specs_num: list[FeatureSpec] = []
    specs_cat: list[FeatureSpec] = []
    for j, name in enumerate(header):
        if name in dropped:
            continue
        raw = [r[j] for r in cleaned]
        present = [v for v in raw if v is not None]
        if not present:
            dropped[name] = "empty"
            continue
        as_float = np.array([_to_float(v) for v in raw], dtype=np.float64)
        parsed = int(np.count_nonzero(~np.isnan(as_float)))
        distinct = len(set(present))
        if distinct == 1:
            dropped[name] = "constant"
            continue
        if parsed >= NUMERIC_SHARE * len(present):
            if distinct == len(present) == n and _is_integer_valued(as_float):
                dropped[name] = "identifier-like (unique integers)"
                continue
            numeric_cols.append(as_float)
            specs_num.append(FeatureSpec(name, "numeric"))
        else:
            if distinct > MAX_CATEGORY_SHARE * len(present) and distinct > 20:
                dropped[name] = "identifier-like (mostly unique text)"
                continue
            categorical_cols.append(raw)
            specs_cat.append(FeatureSpec(name, "categorical"))
    if not specs_num and not specs_cat:
        raise TableError("no usable feature column")
    numeric = np.column_stack(numeric_cols) if numeric_cols else np.empty((n, 0), dtype=np.float64)
    categorical = np.empty((n, len(categorical_cols)), dtype=object)
    for j, col in enumerate(categorical_cols):
        categorical[:, j] = [MISSING_CATEGORY if v is None else v for v in col]
    return Table(specs_num + specs_cat, numeric, categorical, y, ids, pos, dropped)


def load_csv(
    path: str | Path,
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Iterable[str] = (),
    delimiter: str | None = None,
) -> Table:
    header, rows = read_csv(path, delimiter=delimiter)
    return build_table(header, rows, label=label, id_column=id_column, positive=positive, exclude=exclude)
