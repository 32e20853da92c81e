"""Turn any churn table (a CSV export, or rows from our own feature SQL) into typed arrays.

Nothing here knows a column name in advance: the caller names the label (and optionally the id),
every other column is typed by looking at its values. A file is read honestly or refused with a
TableError that says why (issue 19, each found with a damaged copy of the Telco file):

- encoding: UTF-8 (BOM or not), UTF-16 with a BOM, GB18030/GBK (Chinese exports), else
  Windows-1252; the one used is reported.
- decimal convention, per file: `29,85` and `1.889,50` (European) or `29.85` and `1,889.50`.
- numbers with a currency sign (`$1,889.50`, `¥`, `€`) or a few non-number tokens (`unknown`) stay
  numeric; the cells that were not numbers are counted in the report.
- the positive label must be unambiguous (yes/no, true/false, 1/0, churned/...), else `--positive`.
- duplicated ids: identical copies are dropped and counted; ids whose copies disagree on the
  label are refused (or dropped whole with conflicts="drop").
- leaks: identifier-like columns (unique integers, a near-unique row number in file order, mostly
  unique text) and any column whose single-feature AUC is implausibly high (>= LEAK_AUC) are left
  out with the reason, unless named in `allow`.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MISSING_CATEGORY = "(missing)"  # a missing category is a level of its own: "not answered" often predicts
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a"})
# label pairs whose meaning is conventional: (churned, stayed)
POSITIVE_PAIRS = (("yes", "no"), ("y", "n"), ("true", "false"), ("t", "f"), ("1", "0"), ("1.0", "0.0"))
CHURN_WORDS = frozenset(
    {"churn", "churned", "left", "lost", "leaver", "cancelled", "canceled", "terminated", "流失", "离网", "是"}
)
NUMERIC_SHARE = 0.95  # a column is numeric when this share of its non-missing values parse as numbers,
NUMERIC_SHARE_WITH_TOKENS = 0.5  # or this share when the rest is a few repeated tokens ("unknown")
MAX_TOKENS = 3
MAX_CATEGORY_SHARE = 0.5  # a text column with more distinct values than this share of rows is an identifier/free text
ROW_NUMBER_DISTINCT = 0.9  # integers this near-unique, ascending (or descending) in file order: a row number
LEAK_AUC = 0.98  # one column alone ranking churners this well is a leak (a post-churn field, an export order)
CURRENCY = "$¥￥€£₹₩元"


class TableError(ValueError):
    """The table cannot be modelled as given (empty, no such label, ambiguous or one-class label,
    conflicting duplicates, no usable feature). `context` carries the figures behind the message."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.context = context


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
    # how the file was read: encoding, decimal, not_numbers, duplicates, leaks, warnings
    notes: dict = field(default_factory=dict)

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
    """Numbers are boxed once per distinct value and shared (a 51k x 40 block of prices and
    counts holds a few hundred thousand distinct floats, not two million objects)."""
    n = numeric.shape[0] if numeric.size or numeric.ndim == 2 else categorical.shape[0]
    out = np.empty((n, numeric.shape[1] + categorical.shape[1]), dtype=object)
    for j in range(numeric.shape[1]):
        uniq, inv = np.unique(numeric[:, j], return_inverse=True)
        out[:, j] = uniq.astype(object)[inv.reshape(-1)]
    out[:, numeric.shape[1] :] = categorical
    return out


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip()
    return None if v.lower() in MISSING_TOKENS else v


# --- numbers --------------------------------------------------------------------------------

_COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3}){2,})$")
_POINT_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,})|\d{1,3}(,\d{3}){2,})$")


def _strip_number(value: str) -> tuple[str, float]:
    """The bare digits of a cell and its sign: currency signs, spaces, a % sign and accounting
    parentheses removed."""
    v = value.strip()
    sign = 1.0
    if v.startswith("(") and v.endswith(")"):
        v, sign = v[1:-1], -1.0
    if v[:1] in "-+":
        sign, v = (-sign if v[0] == "-" else sign), v[1:]
    v = v.strip().strip(CURRENCY).strip().rstrip("%").replace("\u00a0", "").replace(" ", "").replace("'", "")
    if v[:1] in "-+":  # "$-5.00"
        sign, v = (-sign if v[0] == "-" else sign), v[1:]
    return v, sign


def detect_decimal(cells: Iterable[str]) -> str:
    """ "comma" when the file writes 29,85 / 1.889,50, else "point": a vote over the cells that
    can only be read one way (1,889 and 1.889 are ambiguous and do not vote)."""
    comma = point = 0
    for c in cells:
        v, _ = _strip_number(c)
        if not v or not v[0].isdigit():
            continue
        if _COMMA_DECIMAL.match(v):
            comma += 1
        elif _POINT_DECIMAL.match(v):
            point += 1
    return "comma" if comma > point else "point"


def to_float(value: str | None, decimal: str = "point") -> float:
    """A cell as a number under the file's decimal convention; NaN when it is not one."""
    if value is None:
        return math.nan
    try:
        out = float(value) if decimal == "point" or "," not in value and "." not in value else math.nan
    except ValueError:
        out = math.nan
    if math.isnan(out):
        v, sign = _strip_number(value)
        v = v.replace(".", "").replace(",", ".") if decimal == "comma" else v.replace(",", "")
        try:
            out = sign * float(v) if v and (v[0].isdigit() or v[0] == ".") else math.nan
        except ValueError:
            return math.nan
    return out if math.isfinite(out) else math.nan


_to_float = to_float  # the old private name


def _is_integer_valued(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return finite.size > 0 and bool(np.all(finite == np.round(finite)))


def _row_number_like(values: np.ndarray, n: int) -> bool:
    """Integers, near-unique, and ascending (or descending) in file order: a row number or an
    id issued in order, even with a few repeats."""
    finite = values[~np.isnan(values)]
    if finite.size < 0.9 * n or not _is_integer_valued(finite) or len(np.unique(finite)) < ROW_NUMBER_DISTINCT * n:
        return False
    steps = np.diff(finite)
    return bool(max((steps >= 0).mean(), (steps <= 0).mean()) >= 0.98) if steps.size else False


# --- the label ------------------------------------------------------------------------------


def resolve_positive(labels: Sequence[str], positive: str | None) -> str:
    """The label value meaning "churned": given, or read from a conventional pair (yes/no,
    true/false, 1/0, ...) or a churn word against anything else. Anything else (2/1, A/B) is
    ambiguous and refused: guessing the minority class silently inverted 2 = churned."""
    present = Counter(labels)
    if len(present) != 2:
        raise TableError(f"the label must have exactly two values, found {len(present)}: {sorted(present)[:5]}")
    if positive is not None:
        if positive not in present:
            raise TableError(f"positive value {positive!r} not among the label values {sorted(present)}")
        return positive
    a, b = sorted(present)
    by_lower = {a.lower(): a, b.lower(): b}
    for pos, neg in POSITIVE_PAIRS:
        if set(by_lower) == {pos, neg}:
            return by_lower[pos]
    churny = [v for k, v in by_lower.items() if k in CHURN_WORDS]
    if len(churny) == 1:
        return churny[0]
    raise TableError(
        f"cannot tell which label value means churned: {[a, b]}; name it with --positive (e.g. --positive {b})",
        values={a: present[a], b: present[b]},
    )


# --- reading the file -----------------------------------------------------------------------


def _looks_chinese(text: str) -> bool:
    """Decoded GB18030 text that is really Chinese: its non-ASCII characters are CJK (or CJK
    punctuation / full width forms), each written with two high bytes as GB2312 does. A
    Windows-1252 file whose bytes happen to pair up decodes to CJK too, but its second bytes are
    mostly ASCII letters."""
    extra = [ch for ch in text if ord(ch) > 127]
    if not extra:
        return False
    cjk = sum(
        1 for ch in extra if 0x3000 <= ord(ch) <= 0x303F or 0x3400 <= ord(ch) <= 0x9FFF or 0xFF00 <= ord(ch) <= 0xFFEF
    )
    if cjk < 0.95 * len(extra):
        return False
    sample = extra[:5000]
    high_pairs = sum(1 for ch in sample if all(b >= 0xA1 for b in ch.encode("gb18030")[:2]))
    return high_pairs >= 0.9 * len(sample)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding name). Given an encoding, use it; else detect as the module doc says."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise TableError(f"the file cannot be read as {encoding}: {exc}") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if _looks_chinese(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1"), "latin-1"


Column = list  # one column's cells: str, or None when missing (MISSING_TOKENS)


@dataclass
class RawTable:
    header: list[str]
    columns: list[Column]
    encoding: str
    delimiter: str

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def columns_from_rows(width: int, rows: Iterable[Sequence[str | None]]) -> list[Column]:
    """Cleaned, column-wise cells. Each column interns its values (a repeated "No" or "29.85"
    is one object), which keeps a 51k x 58 file at a fraction of a list of row lists; blank rows
    are skipped and short rows padded with missing cells."""
    caches: list[dict] = [{} for _ in range(width)]
    cols: list[Column] = [[] for _ in range(width)]
    for r in rows:
        if not any(c is not None and c.strip() for c in r):
            continue
        n = len(r)
        for j in range(width):
            v = r[j] if j < n else None
            cache = caches[j]
            try:
                c = cache[v]
            except KeyError:
                c = cache[v] = _clean(v)
            cols[j].append(c)
    return cols


def read_raw(path: str | Path, *, delimiter: str | None = None, encoding: str | None = None) -> RawTable:
    """Header and cleaned columns; the encoding is detected and the delimiter sniffed (comma,
    semicolon, tab, pipe) unless given. An empty file or one without data rows is a TableError."""
    data = Path(path).read_bytes()
    text, used = decode(data, encoding)
    del data
    if not text.strip():
        raise TableError("the file is empty")
    sample = text[:64_000]
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            first = sample.splitlines()[0] if sample.splitlines() else ""
            delimiter = max(",;\t|", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    columns = columns_from_rows(len(header), reader)
    del text
    if not columns or not columns[0]:
        raise TableError("the file has a header but no data rows", columns=header[:20])
    return RawTable(header, columns, used, delimiter)


def read_csv(
    path: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> tuple[list[str], list[list[str | None]]]:
    """Header and row lists (cleaned cells), for callers that want rows."""
    raw = read_raw(path, delimiter=delimiter, encoding=encoding)
    return raw.header, [list(r) for r in zip(*raw.columns, strict=False)]


# --- typing the columns ---------------------------------------------------------------------


def _single_feature_auc(values: np.ndarray, y: np.ndarray, kind: str) -> float:
    """How well one column alone ranks churners (0.5 = not at all, 1 = perfectly), either way
    round. Numbers rank as they are, missing as the lowest; a categorical by its out-of-fold
    churn rate, so a level seen once cannot score by memory."""
    from sklearn.metrics import roc_auc_score

    if kind == "numeric":
        v = np.where(np.isnan(values), np.nanmin(values) - 1 if np.isfinite(values).any() else 0.0, values)
    else:
        levels, inv = np.unique(values.astype(str), return_inverse=True)
        v = np.empty(len(y), dtype=np.float64)
        fold = np.arange(len(y)) % 5
        prior = float(y.mean())
        for k in range(5):
            tr = fold != k
            n = np.bincount(inv[tr], minlength=len(levels))
            pos = np.bincount(inv[tr], weights=y[tr], minlength=len(levels))
            v[~tr] = ((pos + 10 * prior) / (n + 10))[inv[~tr]]
    auc = float(roc_auc_score(y, v))
    return max(auc, 1 - auc)


def _take(columns: list[Column], keep: Sequence[int]) -> list[Column]:
    return [[col[i] for i in keep] for col in columns]


def _dedupe(columns: list[Column], id_index: int, label_index: int, conflicts: str, notes: dict) -> list[Column]:
    """Drop repeated copies of an id (the first kept); ids whose copies disagree on the label
    are refused, or dropped whole when conflicts == "drop". Counts go to notes["duplicates"]."""
    ids, labels = columns[id_index], columns[label_index]
    first: dict[str | None, int] = {}
    seen: dict[str | None, set] = {}
    for i, (k, lab) in enumerate(zip(ids, labels, strict=False)):
        first.setdefault(k, i)
        seen.setdefault(k, set()).add(lab)
    extra = len(ids) - len(first)
    if not extra:
        return columns
    conflicting = {k for k, v in seen.items() if len(v) > 1}
    counts = Counter(ids)
    repeated = sum(1 for c in counts.values() if c > 1)
    info = {"ids_repeated": repeated, "extra_rows": extra, "ids_with_conflicting_labels": len(conflicting)}
    if conflicting and conflicts != "drop":
        raise TableError(
            f"{len(conflicting)} ids appear with both label values (e.g. "
            f"{sorted(map(str, conflicting))[:3]}); fix the export, or pass --conflicts drop to leave "
            "those ids out",
            **info,
        )
    keep = [i for i, k in enumerate(ids) if first[k] == i and k not in conflicting]
    info["rows_dropped"] = len(ids) - len(keep)
    notes["duplicates"] = info
    notes.setdefault("warnings", []).append(
        f"{repeated} ids appear more than once: {info['rows_dropped']} rows dropped (first copy kept"
        + (f"; {len(conflicting)} ids with conflicting labels left out entirely)" if conflicting else ")")
    )
    return _take(columns, keep)


def _column(raw: Column, decimal: str) -> tuple[np.ndarray, int, Counter]:
    """The column as floats, the count of cells that parsed and the non-number tokens (each
    distinct cell is parsed once)."""
    cache: dict[str | None, float] = {None: math.nan}
    tokens: Counter = Counter()
    out = np.empty(len(raw), dtype=np.float64)
    for i, v in enumerate(raw):
        try:
            f = cache[v]
        except KeyError:
            f = cache[v] = to_float(v, decimal)
        out[i] = f
        if f != f and v is not None:  # NaN from a cell that is not a number
            tokens[v] += 1
    parsed = int(np.count_nonzero(~np.isnan(out)))
    return out, parsed, tokens


def build_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    **options: object,
) -> Table:
    """`build_columns` over row lists (raw cells, cleaned here)."""
    return build_columns(list(header), columns_from_rows(len(header), rows), **options)  # type: ignore[arg-type]


def build_columns(
    header: Sequence[str],
    columns: list[Column],
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Iterable[str] = (),
    allow: Iterable[str] = (),
    conflicts: str = "refuse",
    decimal: str | None = None,
    notes: dict | None = None,
) -> Table:
    """Type every column but the label and id; rows without a label are dropped.

    Raises TableError when the label (or id) column is missing, the label is not binary or is
    ambiguous, ids conflict, or no feature column is left. `allow` names columns kept although
    they look like a leak.
    """
    header = list(header)
    notes = dict(notes or {})
    notes.setdefault("warnings", [])
    if label not in header:
        raise TableError(f"label column {label!r} not in the table; columns: {header}")
    if id_column is not None and id_column not in header:
        raise TableError(f"id column {id_column!r} not in the table")
    li = header.index(label)
    ii = header.index(id_column) if id_column else None
    if any(v is None for v in columns[li]):
        columns = _take(columns, [i for i, v in enumerate(columns[li]) if v is not None])
    if not columns[li]:
        raise TableError("no row has a label value")
    if ii is not None:
        columns = _dedupe(columns, ii, li, conflicts, notes)
    labels = columns[li]
    pos = resolve_positive(labels, positive)
    y = np.fromiter((lab == pos for lab in labels), dtype=np.int8, count=len(labels))
    ids = [str(v) for v in columns[ii]] if ii is not None else None
    if decimal is None:
        decimal = detect_decimal(v for j, col in enumerate(columns) if j not in (li, ii) for v in col[:2000] if v)
    notes["decimal"] = decimal
    allowed = set(allow)

    dropped: dict[str, str] = {label: "label"}
    if id_column:
        dropped[id_column] = "id column"
    for name in exclude:
        if name in header:
            dropped[name] = "excluded"
    n = len(y)
    numeric_cols: list[np.ndarray] = []
    categorical_cols: list[np.ndarray] = []
    specs_num: list[FeatureSpec] = []
    specs_cat: list[FeatureSpec] = []
    not_numbers: dict[str, dict] = {}
    for j, name in enumerate(header):
        if name in dropped:
            continue
        raw = columns[j]
        present = [v for v in raw if v is not None]
        if not present:
            dropped[name] = "empty"
            continue
        distinct = len(set(present))
        if distinct == 1:
            dropped[name] = "constant"
            continue
        values, parsed, tokens = _column(raw, decimal)
        is_numeric = parsed >= NUMERIC_SHARE * len(present) or (
            parsed >= NUMERIC_SHARE_WITH_TOKENS * len(present) and len(tokens) <= MAX_TOKENS
        )
        if is_numeric:
            if tokens:
                not_numbers[name] = {"cells": sum(tokens.values()), "values": [t for t, _ in tokens.most_common(3)]}
            if name not in allowed:
                if distinct == len(present) == n and _is_integer_valued(values):
                    dropped[name] = "identifier-like (unique integers)"
                    continue
                if _row_number_like(values, n):
                    dropped[name] = "identifier-like (a row number: near-unique integers in file order)"
                    continue
            numeric_cols.append(values)
            specs_num.append(FeatureSpec(name, "numeric"))
        else:
            if distinct > MAX_CATEGORY_SHARE * len(present) and distinct > 20 and name not in allowed:
                dropped[name] = "identifier-like (mostly unique text)"
                continue
            col = np.empty(n, dtype=object)
            col[:] = [MISSING_CATEGORY if v is None else v for v in raw]
            categorical_cols.append(col)
            specs_cat.append(FeatureSpec(name, "categorical"))
    if not_numbers:
        notes["not_numbers"] = not_numbers
        for name, info in not_numbers.items():
            notes["warnings"].append(
                f"{name}: {info['cells']} cells were not numbers (e.g. {info['values']}); read as missing"
            )
    leaks = _leaks(specs_num, numeric_cols, specs_cat, categorical_cols, y, allowed)
    if leaks:
        notes["leaks"] = leaks
        for name, auc in leaks.items():
            dropped[name] = f"leak? alone it ranks churners with AUC {auc:.3f} (keep it with --allow {name})"
            notes["warnings"].append(
                f"{name} left out as a likely leak (single-feature AUC {auc:.3f}); "
                f"pass --allow {name} if it is known before churn"
            )
        keep_num = [k for k, f in enumerate(specs_num) if f.name not in leaks]
        keep_cat = [k for k, f in enumerate(specs_cat) if f.name not in leaks]
        specs_num, numeric_cols = [specs_num[k] for k in keep_num], [numeric_cols[k] for k in keep_num]
        specs_cat, categorical_cols = [specs_cat[k] for k in keep_cat], [categorical_cols[k] for k in keep_cat]
    if not specs_num and not specs_cat:
        raise TableError("no usable feature column", not_features=dropped)
    numeric = np.column_stack(numeric_cols) if numeric_cols else np.empty((n, 0), dtype=np.float64)
    categorical = np.column_stack(categorical_cols) if categorical_cols else np.empty((n, 0), dtype=object)
    return Table(specs_num + specs_cat, numeric, categorical, y, ids, pos, dropped, notes)


def _leaks(
    specs_num: list[FeatureSpec],
    numeric_cols: list[np.ndarray],
    specs_cat: list[FeatureSpec],
    categorical_cols: list[np.ndarray],
    y: np.ndarray,
    allowed: set[str],
) -> dict[str, float]:
    if y.min() == y.max():
        return {}
    out = {}
    for spec, col in [*zip(specs_num, numeric_cols, strict=False), *zip(specs_cat, categorical_cols, strict=False)]:
        if spec.name in allowed:
            continue
        auc = _single_feature_auc(col, y.astype(np.float64), spec.kind)
        if auc >= LEAK_AUC:
            out[spec.name] = round(auc, 4)
    return out


def load_csv(
    path: str | Path,
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Iterable[str] = (),
    allow: Iterable[str] = (),
    conflicts: str = "refuse",
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Table:
    raw = read_raw(path, delimiter=delimiter, encoding=encoding)
    notes = {"encoding": raw.encoding, "delimiter": raw.delimiter, "rows_read": raw.n_rows}
    return build_columns(
        raw.header,
        raw.columns,
        label=label,
        id_column=id_column,
        positive=positive,
        exclude=exclude,
        allow=allow,
        conflicts=conflicts,
        notes=notes,
    )


def load_like(
    path: str | Path,
    train: Table,
    *,
    label: str,
    id_column: str | None = None,
    conflicts: str = "refuse",
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Table:
    """A second file (next month's export) typed exactly like `train`: the same feature columns
    and kinds, the same positive label; its own encoding and decimal convention are detected."""
    raw = read_raw(path, delimiter=delimiter, encoding=encoding)
    notes: dict = {"encoding": raw.encoding, "delimiter": raw.delimiter, "rows_read": raw.n_rows, "warnings": []}
    missing = [f.name for f in train.features if f.name not in raw.header] + (
        [label] if label not in raw.header else []
    )
    if missing:
        raise TableError(f"the test file lacks columns the model uses: {missing}")
    columns = raw.columns
    li = raw.header.index(label)
    ii = raw.header.index(id_column) if id_column and id_column in raw.header else None
    if any(v is None for v in columns[li]):
        columns = _take(columns, [i for i, v in enumerate(columns[li]) if v is not None])
    if ii is not None:
        columns = _dedupe(columns, ii, li, conflicts, notes)
    values = sorted(set(columns[li]))
    if train.positive not in values or len(values) != 2:
        raise TableError(
            f"the test file's label values {values[:5]} are not the training file's two (churned = {train.positive!r})"
        )
    y = np.fromiter((v == train.positive for v in columns[li]), dtype=np.int8, count=len(columns[li]))
    ids = [str(v) for v in columns[ii]] if ii is not None else None
    index = {h: k for k, h in enumerate(raw.header)}
    decimal = detect_decimal(v for f in train.numeric_names for v in columns[index[f]][:2000] if v)
    notes["decimal"] = decimal
    num_cols, cat_cols, not_numbers = [], [], {}
    for f in train.features:
        raw_col = columns[index[f.name]]
        if f.kind == "numeric":
            col, _, tokens = _column(raw_col, decimal)
            if tokens:
                not_numbers[f.name] = {"cells": sum(tokens.values()), "values": [t for t, _ in tokens.most_common(3)]}
            num_cols.append(col)
        else:
            col = np.empty(len(raw_col), dtype=object)
            col[:] = [MISSING_CATEGORY if v is None else v for v in raw_col]
            cat_cols.append(col)
    if not_numbers:
        notes["not_numbers"] = not_numbers
    n = len(y)
    numeric = np.column_stack(num_cols) if num_cols else np.empty((n, 0), dtype=np.float64)
    categorical = np.column_stack(cat_cols) if cat_cols else np.empty((n, 0), dtype=object)
    return Table(list(train.features), numeric, categorical, y, ids, train.positive, dict(train.dropped), notes)
