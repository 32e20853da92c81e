"""Planted-signal data for tests and benchmarks of the churn model (not demo data).

`plant_city` inserts customers with `months` of usage ending at `last_month`, in set-based SQL.
About `drift_share` of them are drifters: from their drift month d their voice, data and bill fall
(x0.7, x0.45, x0.25 ...), they call a competitor's hotline in months d and d+1, and they churn in
month d+2 (those whose d+2 lies beyond `last_month` are still active: the ones tonight's scoring
must flag). Other customers churn at a low base rate with no warning sign.

`write_csv` writes an operator-style export with its own column names and types (numbers as text
with blanks, yes/no flags, an id column) where competitor calls and falling usage cause churn.
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.churn.features import add_months

_PLAN = """
CREATE TEMP TABLE churn_city_plan ON COMMIT DROP AS
SELECT id, drifter, d,
       CASE WHEN drifter AND d + 2 < :months THEN d + 2
            WHEN NOT drifter AND r_base < :base_rate THEN 2 + floor(r_when * (:months - 2))::int
       END AS churn_idx,
       50 + floor(r_voice * 550)::int AS voice, 500 + floor(r_data * 19500)::int AS data,
       3000 + floor(r_bill * 17000)::int AS bill, 60 + floor(r_tenure * 3000)::int AS tenure_days
FROM (
    SELECT g AS id, random() < :drift_share AS drifter, 2 + floor(random() * (:months - 2))::int AS d,
           random() AS r_base, random() AS r_when, random() AS r_voice, random() AS r_data,
           random() AS r_bill, random() AS r_tenure
    FROM generate_series(CAST(:first_id AS bigint), CAST(:first_id AS bigint) + :n - 1) g
) s
"""
_CUSTOMERS = """
INSERT INTO customers (id, phone, phone_last4, name, join_date, status, churned_on, tier, contract_end)
SELECT p.id, '10' || lpad((p.id % 1000000000)::text, 9, '0'), lpad((p.id % 10000)::text, 4, '0'),
       'Synthetic ' || p.id, CAST(:first_month AS date) - p.tenure_days,
       CASE WHEN p.churn_idx IS NULL THEN 'active' ELSE 'churned' END,
       CASE WHEN p.churn_idx IS NOT NULL
            THEN (CAST(:first_month AS date) + make_interval(months => p.churn_idx))::date + 9 END,
       'star3',
       CASE WHEN p.id % 4 = 0 THEN (CAST(:first_month AS date) + make_interval(months => :months + 6))::date END
FROM churn_city_plan p
"""
_USAGE = """
INSERT INTO monthly_usage (customer_id, month, voice_min, data_mb, sms, voice_allowance_min, data_allowance_mb,
                           plan_fee_fen, bill_fen, topup_fen, topup_count, balance_end_fen, broadband_gb,
                           active_days)
SELECT p.id, (CAST(:first_month AS date) + make_interval(months => k))::date,
       round(p.voice * f * (0.85 + 0.3 * random()))::int,
       round(p.data * f * (0.85 + 0.3 * random()))::int,
       floor(random() * 20)::int, 500, 10000, 3000,
       round(p.bill * (0.5 + 0.5 * f) * (0.9 + 0.2 * random()))::bigint,
       CASE WHEN random() < 0.5 THEN 5000 ELSE 0 END, CASE WHEN random() < 0.5 THEN 1 ELSE 0 END,
       floor(random() * 5000)::bigint, 0, greatest(1, round(28 * f))::int
FROM churn_city_plan p
CROSS JOIN generate_series(0, :months - 1) k
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.drifter AND k >= p.d THEN power(0.62, k - p.d + 0.75) ELSE 1.0 END AS f
) fac
WHERE p.churn_idx IS NULL OR k < p.churn_idx
"""
_CALLS = """
INSERT INTO competitor_calls (customer_id, called_at, competitor, duration_s)
SELECT p.id, (CAST(:first_month AS date) + make_interval(months => p.d + m, days => 3 + j * 7))::timestamptz,
       'rival', 60 + floor(random() * 300)::int
FROM churn_city_plan p
CROSS JOIN generate_series(0, 1) m
CROSS JOIN generate_series(0, 1) j
WHERE p.drifter AND p.d + m < :months AND (p.churn_idx IS NULL OR p.d + m < p.churn_idx)
UNION ALL
SELECT p.id,
       (CAST(:first_month AS date) + make_interval(months => floor(random() * :months)::int, days => 5))::timestamptz,
       'rival', 30
FROM churn_city_plan p
WHERE NOT p.drifter AND random() < 0.03
"""


async def plant_city(
    session: AsyncSession, *, n: int, first_id: int, last_month: date, months: int = 8,
    drift_share: float = 0.15, base_rate: float = 0.04, seed: float = 0.42,
) -> dict:
    """Insert the city in the caller's transaction (never commits). Returns the drifter ids that
    are still active at `last_month` and the ids of active non-drifters."""
    first_month = add_months(last_month, -(months - 1))
    p = {"n": n, "first_id": first_id, "months": months, "drift_share": drift_share, "base_rate": base_rate,
         "first_month": first_month}
    await session.execute(text("SELECT setseed(:s)"), {"s": seed})
    await session.execute(text(_PLAN), p)
    for stmt in (_CUSTOMERS, _USAGE, _CALLS):
        await session.execute(text(stmt), p)
    rows = (await session.execute(text("SELECT id, drifter FROM churn_city_plan WHERE churn_idx IS NULL"))).all()
    await session.execute(text("DROP TABLE churn_city_plan"))
    return {"active_drifters": [r[0] for r in rows if r[1]], "active_others": [r[0] for r in rows if not r[1]]}


def write_csv(path: str | Path, *, n: int = 3000, seed: int = 7) -> Path:
    """An export with foreign column names. Planted cause: rival-hotline calls (strongest) and a
    falling data trend raise the churn odds; `subscriber_ref` is a unique id that must not be used."""
    rng = np.random.default_rng(seed)
    calls = rng.poisson(0.4, n)
    trend = rng.normal(0, 0.3, n)
    months = rng.integers(1, 120, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    fee = rng.uniform(20, 200, n).round(2)
    logit = -2.2 + 1.6 * calls - 2.0 * trend - 0.004 * months
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    path = Path(path)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subscriber_ref", "Region", "MonthsOnNet", "MonthlyFee", "RivalHotlineCalls", "DataTrend",
                    "Has_Broadband", "Left_Network"])
        for i in range(n):
            fee_text = "" if i % 97 == 0 else f"{fee[i]:.2f}"  # blanks, like TotalCharges
            w.writerow([f"SUB-{100000 + i * 7919 % 900000:06d}-{i}", region[i], int(months[i]), fee_text,
                        int(calls[i]), f"{trend[i]:.3f}", "Y" if rng.random() < 0.4 else "N",
                        "True" if churn[i] else "False"])
    return path
