"""PostgreSQL binary COPY encoding of numpy columns, vectorised (no Python loop per row).

Why binary: measured on the 2-core dev box, 1,000,000 `monthly_usage` rows load in ~3 s by
binary COPY against ~5 s for `INSERT … SELECT generate_series` and the server parses binary
cheaper than text. Every row is laid out as one numpy structured record
(int16 field count, then int32 length + payload per column, all big-endian); variable-length
and NULL columns get a fixed-width slot and a keep-mask drops the unused bytes, so a whole chunk
becomes one `bytes` with a single boolean gather.

Text values travel as `VarBytes`: a uint8 matrix (rows × max width) plus a length per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH_DAY = np.datetime64("2000-01-01", "D")
PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us")

_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "date": ">i4", "timestamptz": ">i8", "bool": "u1"}


@dataclass
class VarBytes:
    """Variable-length byte strings, one per row: `mat[i, :lens[i]]` is row i's value."""

    mat: np.ndarray  # uint8 (n, width)
    lens: np.ndarray  # int32 (n,)

    @property
    def n(self) -> int:
        return int(self.mat.shape[0])

    def take(self, idx: np.ndarray) -> VarBytes:
        return VarBytes(self.mat[idx], self.lens[idx])


def vocab(words: Sequence[str]) -> VarBytes:
    """A lookup table of UTF-8 strings; `vocab(words).take(codes)` picks one per row."""
    raw = [w.encode() for w in words]
    width = max(1, max(len(r) for r in raw))
    mat = np.zeros((len(raw), width), np.uint8)
    for i, r in enumerate(raw):
        mat[i, : len(r)] = np.frombuffer(r, np.uint8)
    return VarBytes(mat, np.array([len(r) for r in raw], np.int32))


def const(text: str, n: int) -> VarBytes:
    return vocab([text]).take(np.zeros(n, np.intp))


def digits(values: np.ndarray, width: int) -> VarBytes:
    """Zero-padded decimal of non-negative integers, exactly `width` characters."""
    v = np.asarray(values, np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    mat = (48 + (v[:, None] // powers[None, :]) % 10).astype(np.uint8)
    return VarBytes(mat, np.full(len(v), width, np.int32))


def number(values: np.ndarray, width: int = 12) -> VarBytes:
    """Decimal of non-negative integers without padding (left-trimmed)."""
    v = np.asarray(values, np.int64)
    padded = digits(v, width).mat
    nd = np.maximum(1, np.floor(np.log10(np.maximum(v, 1))).astype(np.int32) + 1)
    shift = (width - nd)[:, None] + np.arange(width)[None, :]
    mat = np.take_along_axis(padded, np.minimum(shift, width - 1), axis=1)
    mat[np.arange(width)[None, :] >= nd[:, None]] = 0
    return VarBytes(mat, nd.astype(np.int32))


def concat(*parts: VarBytes) -> VarBytes:
    """Row-wise concatenation of variable-length parts.

    One vectorised scatter per byte column of each part; bytes past a row's length are sent to a
    scratch column that is dropped at the end.
    """
    n = parts[0].n
    width = sum(int(p.mat.shape[1]) for p in parts)
    out = np.zeros((n, width + 1), np.uint8)
    flat = out.reshape(-1)
    base = np.arange(n, dtype=np.int64) * (width + 1)
    trash = base + width
    offset = base.copy()
    for p in parts:
        for j in range(p.mat.shape[1]):
            flat[np.where(p.lens > j, offset + j, trash)] = p.mat[:, j]
        offset += p.lens
    return VarBytes(out[:, :width], (offset - base).astype(np.int32))


@dataclass
class Column:
    """One COPY column. kind: int2/int4/int8/date/timestamptz/bool/text/jsonb.

    date values are datetime64[D], timestamptz values datetime64[us] (UTC); `nulls` marks NULLs.
    """

    name: str
    kind: str
    values: np.ndarray | VarBytes
    nulls: np.ndarray | None = None


def _payload(col: Column) -> np.ndarray | VarBytes:
    v = col.values
    if col.kind == "date":
        return (np.asarray(v).astype("datetime64[D]") - PG_EPOCH_DAY).astype(np.int64)
    if col.kind == "timestamptz":
        return (np.asarray(v).astype("datetime64[us]") - PG_EPOCH_US).astype(np.int64)
    if col.kind == "jsonb":  # binary jsonb = version byte 1 + JSON text
        assert isinstance(v, VarBytes)
        return concat(const("\x01", v.n), v)
    return v


def encode(columns: Sequence[Column]) -> bytes:
    """Encode the rows (without header/trailer) of equally long columns."""
    payloads = [_payload(c) for c in columns]
    n = payloads[0].n if isinstance(payloads[0], VarBytes) else len(payloads[0])
    fields: list[tuple] = [("nf", ">i2")]
    for i, (col, p) in enumerate(zip(columns, payloads, strict=True)):
        fields.append((f"l{i}", ">i4"))
        if isinstance(p, VarBytes):
            fields.append((f"d{i}", np.uint8, (int(p.mat.shape[1]),)))
        else:
            fields.append((f"d{i}", _FIXED[col.kind]))
    dt = np.dtype(fields)
    rec = np.zeros(n, dt)
    rec["nf"] = len(columns)
    keep: np.ndarray | None = None
    for i, (col, p) in enumerate(zip(columns, payloads, strict=True)):
        var = isinstance(p, VarBytes)
        if var:
            rec[f"d{i}"] = p.mat
            lens = p.lens.astype(np.int32)
            width = int(p.mat.shape[1])
        else:
            rec[f"d{i}"] = p
            width = np.dtype(_FIXED[col.kind]).itemsize
            lens = np.full(n, width, np.int32)
        if col.nulls is not None:
            lens = np.where(col.nulls, -1, lens).astype(np.int32)
        rec[f"l{i}"] = lens
        if var or col.nulls is not None:
            if keep is None:
                keep = np.ones((n, dt.itemsize), bool)
            off = dt.fields[f"d{i}"][1]
            keep[:, off : off + width] = np.arange(width)[None, :] < np.maximum(lens, 0)[:, None]
    raw = rec.view(np.uint8).reshape(n, dt.itemsize)
    return raw[keep].tobytes() if keep is not None else raw.tobytes()
