"""Key churn factors ranked by information gain (seed 003: H(X) = -Σ p(x) log2 p(x)).

IG(Y; X) = H(Y) - H(Y | X) in bits. Numeric features are cut into quantile bins (missing is a bin
of its own); categorical features keep their levels (rare levels pooled). Plain IG favours features
with many values, so the gain ratio IG / H(X) is reported beside it. Each factor also carries a
warning coefficient (its share of the summed IG, 0-100) and its riskiest bin with that bin's
churn rate, so the ranking reads as "month-to-month contracts churn at 43% against 27% overall".

This is a descriptive ranking of the whole table; it never feeds model selection, so computing it
on all rows leaks nothing into the cross-validated figures.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

MAX_LEVELS = 30


def entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def quantile_codes(x: np.ndarray, bins: int) -> tuple[np.ndarray, list[str]]:
    """Bin codes 0..k for a float column (NaN gets the last code) and a label per code."""
    finite = x[~np.isnan(x)]
    if finite.size == 0:
        return np.zeros(len(x), dtype=np.int64), ["(missing)"]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    codes = np.digitize(x, edges, right=True)  # x <= e0 -> 0, e0 < x <= e1 -> 1, ..., x > e_last -> len
    labels = [f"<= {edges[0]:.4g}"] if edges.size else ["all"]
    labels += [f"({a:.4g}, {b:.4g}]" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    if edges.size:
        labels.append(f"> {edges[-1]:.4g}")
    missing = np.isnan(x)
    if missing.any():
        codes = np.where(missing, len(labels), codes)
        labels.append("(missing)")
    return codes.astype(np.int64), labels


def category_codes(x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    counts = Counter(x.tolist())
    keep = [v for v, _ in counts.most_common(MAX_LEVELS)]
    labels = [str(v) for v in keep]
    index = {v: i for i, v in enumerate(keep)}
    other = len(labels)
    codes = np.fromiter((index.get(v, other) for v in x.tolist()), dtype=np.int64, count=len(x))
    if len(counts) > len(keep):
        labels.append("(other)")
    return codes, labels


def information_gain(codes: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """IG in bits, split entropy H(X), and per-code (count, positives)."""
    k = int(codes.max()) + 1 if codes.size else 1
    n_x = np.bincount(codes, minlength=k).astype(np.float64)
    pos_x = np.bincount(codes, weights=y.astype(np.float64), minlength=k)
    n = n_x.sum()
    h_y = entropy_bits(np.array([n - y.sum(), y.sum()], dtype=np.float64))
    h_cond = 0.0
    for cnt, pos in zip(n_x, pos_x, strict=True):
        if cnt:
            h_cond += (cnt / n) * entropy_bits(np.array([cnt - pos, pos]))
    return max(h_y - h_cond, 0.0), entropy_bits(n_x), n_x, pos_x


def rank_factors(
    names: list[str],
    columns: list[np.ndarray],
    kinds: list[str],
    y: np.ndarray,
    *,
    bins: int = 10,
    min_bin_share: float = 0.02,
) -> list[dict]:
    """Factors sorted by information gain, highest first.

    The riskiest bin is chosen among bins holding at least `min_bin_share` of the rows, so a
    handful of odd values cannot headline a factor.
    """
    y = np.asarray(y, dtype=np.int8)
    base = float(y.mean()) if len(y) else 0.0
    out: list[dict] = []
    for name, col, kind in zip(names, columns, kinds, strict=True):
        if kind == "numeric":
            codes, labels = quantile_codes(np.asarray(col, dtype=np.float64), bins)
        else:
            codes, labels = category_codes(np.asarray(col, dtype=object))
        ig, h_x, n_x, pos_x = information_gain(codes, y)
        rates = np.divide(pos_x, n_x, out=np.zeros_like(pos_x), where=n_x > 0)
        eligible = n_x >= max(1.0, min_bin_share * len(y))
        pick = int(np.argmax(np.where(eligible, rates, -1.0))) if eligible.any() else int(np.argmax(rates))
        out.append(
            {
                "factor": name,
                "kind": kind,
                "information_gain": round(ig, 5),
                "gain_ratio": round(ig / h_x, 5) if h_x > 0 else 0.0,
                "riskiest": {
                    "bin": labels[pick] if pick < len(labels) else str(pick),
                    "churn_rate": round(float(rates[pick]), 4),
                    "share": round(float(n_x[pick] / len(y)), 4),
                    "lift": round(float(rates[pick] / base), 3) if base else None,
                },
            }
        )
    total = sum(f["information_gain"] for f in out) or 1.0
    for f in out:
        f["warning_coefficient"] = round(100 * f["information_gain"] / total, 2)
    out.sort(key=lambda f: (-f["information_gain"], f["factor"]))
    for rank, f in enumerate(out, start=1):
        f["rank"] = rank
    return out
