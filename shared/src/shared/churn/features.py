"""The platform's churn frame: one row of numeric features per customer as of a cut-off month.

The aggregation is one set-based statement (sql/features.sql) per customer-id range; Python only
receives finished rows (float8, NaN for unknown) and stacks them into a matrix. Training frames add
the label "churned within `horizon` months after the cut-off"; scoring frames cover active
customers only.

Known limitation: `customers.contract_end` is the current value, so a frame for a past cut-off
sees a renewal that happened after it. Renewals are rare among churners, so the bias is small and
it only makes historic frames look slightly easier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import binary_rows, native

FEATURES: tuple[str, ...] = (
    "tenure_months",
    "months_observed",
    "bill_avg3_yuan",
    "bill_trend",
    "bill_trend_3v3",
    "bill_volatility",
    "voice_min_avg3",
    "voice_trend",
    "voice_trend_3v3",
    "data_mb_avg3",
    "data_trend",
    "data_trend_3v3",
    "data_volatility",
    "active_days_change",
    "voice_allowance_use",
    "data_allowance_use",
    "payg_data_yuan",
    "roaming_ld_yuan",
    "topups_3m",
    "topup_yuan_3m",
    "balance_yuan",
    "broadband_gb_avg3",
    "complaints_90d",
    "complaints_open_90d",
    "satisfaction_min_90d",
    "competitor_calls_30d",
    "competitor_calls_90d",
    "contract_months_left",
    "in_contract",
    "handset_age_months",
    "handset_price_rank",
    "dual_sim",
    "handset_changes_12m",
)
_SQL = (Path(__file__).parent / "sql" / "features.sql").read_text()
_ELIGIBLE = {
    # history: still a customer at the end of the cut-off month
    "train": "(c.status <> 'churned' OR c.churned_on >= CAST(:cutoff_end AS date))",
    # tonight: active customers only
    "score": "c.status = 'active'",
}
_STATEMENTS = {mode: text(_SQL.replace("{ELIGIBLE}", frag)) for mode, frag in _ELIGIBLE.items()}


def _only_ids(sql: str) -> str:
    """The scoring statement restricted to the customers in :ids (the incremental night): every
    per-table range also carries `= ANY(:ids)`, so each aggregate probes only those customers."""
    for alias in ("c.id", "mu.customer_id", "k.customer_id", "x.customer_id", "h.customer_id"):
        rng = f"{alias} > CAST(:lo AS bigint) AND {alias} <= CAST(:hi AS bigint)"
        assert sql.count(rng) == 1, alias
        sql = sql.replace(rng, f"{rng} AND {alias} = ANY(CAST(:ids AS bigint[]))")
    return sql


_STATEMENTS["score_ids"] = text(_only_ids(_SQL.replace("{ELIGIBLE}", _ELIGIBLE["score"])))
_NATIVE = {mode: native.to_asyncpg(str(statement.text)) for mode, statement in _STATEMENTS.items()}
"""the same statements with $n parameters, for the binary read (shared.db.binary_rows)"""


def add_months(d: date, n: int) -> date:
    """First day of the month n months after d's month (n may be negative)."""
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


@dataclass
class Frame:
    ids: np.ndarray  # int64
    X: np.ndarray  # float64 (n, len(FEATURES))
    y: np.ndarray  # int8; all zero in scoring frames

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, mask: np.ndarray) -> Frame:
        return Frame(self.ids[mask], self.X[mask], self.y[mask])


def params(cutoff: date, horizon: int) -> dict:
    m = add_months(cutoff, 0)
    return {
        "m": m,
        "m_3": add_months(m, -3),
        "m_5": add_months(m, -5),
        "cutoff_end": add_months(m, 1),
        "label_end": add_months(m, 1 + horizon),
    }


async def latest_month(session: AsyncSession) -> date | None:
    return await session.scalar(text("SELECT max(month) FROM monthly_usage"))


async def first_month(session: AsyncSession) -> date | None:
    return await session.scalar(text("SELECT min(month) FROM monthly_usage"))


async def fetch_chunk(
    session: AsyncSession,
    *,
    lo: int,
    hi: int,
    cutoff: date,
    horizon: int = 2,
    mode: str = "train",
    sample: float = 1.0,
    ids: list[int] | None = None,
) -> Frame:
    """Features for customers with lo < id <= hi (and, with `ids`, only those; scoring mode).
    `sample` < 1 keeps a deterministic hash sample."""
    p = {**params(cutoff, horizon), "lo": lo, "hi": hi, "sample": int(round(sample * 10000))}
    if ids is not None:
        mode, p["ids"] = "score_ids", ids
    # Whole chunks are joined: hash/merge joins are always right here, while a nested loop chosen
    # from stale statistics (a city bulk-loaded minutes ago) re-runs each aggregate per customer.
    await session.execute(text("SET LOCAL enable_nestloop = off"))
    statement, names = _NATIVE[mode]
    driver = await native.driver_connection(await session.connection())
    columns = await binary_rows.fetch_columns(driver, statement, native.bind(names, p))
    if columns is not None:
        return Frame(columns[0].astype(np.int64), np.column_stack(columns[2:]), columns[1].astype(np.int8))
    rows = (await session.execute(_STATEMENTS[mode], p)).all()  # a NULL somewhere: row by row
    if not rows:
        return Frame(np.empty(0, np.int64), np.empty((0, len(FEATURES))), np.empty(0, np.int8))
    id_col = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    y = np.fromiter((r[1] for r in rows), dtype=np.int8, count=len(rows))
    X = np.array([r[2:] for r in rows], dtype=np.float64)
    return Frame(id_col, X, y)


async def next_bound(session: AsyncSession, *, after: int, chunk: int) -> int | None:
    """Upper id of the next keyset chunk of `chunk` customers after `after` (None when done).
    An index-only walk, so sparse or huge ids cost nothing."""
    hi = await session.scalar(
        text("SELECT id FROM customers WHERE id > :after ORDER BY id OFFSET :skip LIMIT 1"),
        {"after": after, "skip": chunk - 1},
    )
    if hi is None:
        hi = await session.scalar(text("SELECT max(id) FROM customers WHERE id > :after"), {"after": after})
    return None if hi is None else int(hi)


async def count_eligible(session: AsyncSession, *, cutoff: date) -> int:
    p = params(cutoff, 0)
    return int(
        await session.scalar(
            text(
                "SELECT count(*) FROM customers c WHERE c.join_date < :cutoff_end "
                "AND (c.status <> 'churned' OR c.churned_on >= :cutoff_end)"
            ),
            {"cutoff_end": p["cutoff_end"]},
        )
        or 0
    )


async def training_frame(
    session: AsyncSession, *, cutoff: date, horizon: int, max_rows: int = 200_000, chunk: int = 100_000
) -> Frame:
    """The labelled frame at `cutoff`, hash-sampled down to about `max_rows` rows, built chunk by
    chunk (each chunk is one aggregate query over an id range)."""
    n = await count_eligible(session, cutoff=cutoff)
    sample = min(1.0, max_rows / n) if n else 1.0
    parts, lo = [], -(2**62)
    while (hi := await next_bound(session, after=lo, chunk=chunk)) is not None:
        parts.append(
            await fetch_chunk(session, lo=lo, hi=hi, cutoff=cutoff, horizon=horizon, mode="train", sample=sample)
        )
        lo = hi
    parts = [p for p in parts if len(p)]
    if not parts:
        return Frame(np.empty(0, np.int64), np.empty((0, len(FEATURES))), np.empty(0, np.int8))
    return Frame(
        np.concatenate([p.ids for p in parts]), np.vstack([p.X for p in parts]), np.concatenate([p.y for p in parts])
    )
