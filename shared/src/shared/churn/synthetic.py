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
    drifters = list((await session.scalars(text("SELECT id FROM churn_city_plan WHERE drifter"))).all())
    await session.execute(text("DROP TABLE churn_city_plan"))
    return {"active_drifters": [r[0] for r in rows if r[1]], "active_others": [r[0] for r in rows if not r[1]],
            "drifters": drifters}


async def plant_campaign(
    session: AsyncSession, *, lo: int, hi: int, starts_on: date, ends_on: date, holdout_pct: int = 30,
) -> int:
    """A launched campaign over every customer with lo <= id <= hi still a customer on
    `starts_on`, with a hash hold-out, and a planted treatment effect: drifters in contract
    (contract_end set) respond to contact, so the treated ones among them who churned in the
    campaign stay; drifters out of contract churn anyway; the rest rarely churn either way.
    Call after plant_city, in the caller's transaction. Returns the campaign id."""
    cid = await session.scalar(text(
        "INSERT INTO campaigns (name, query, channel, flow, starts_on, ends_on, holdout_pct, cost_per_touch_fen, "
        "status) VALUES ('planted uplift', '{}', 'outbound_call', 'outbound', :s, :e, :pct, 200, 'launched') "
        "RETURNING id"), {"s": starts_on, "e": ends_on, "pct": holdout_pct})
    await session.execute(text(
        "INSERT INTO campaign_members (campaign_id, customer_id, holdout) "
        "SELECT :cid, c.id, (abs(hashint8(c.id)) % 100) < :pct FROM customers c "
        "WHERE c.id BETWEEN :lo AND :hi AND (c.churned_on IS NULL OR c.churned_on >= :s)"),
        {"cid": cid, "lo": lo, "hi": hi, "pct": holdout_pct, "s": starts_on})
    # the treatment effect: a call keeps a persuadable (in contract, usage falling) customer
    await session.execute(text(
        "UPDATE customers c SET status = 'active', churned_on = NULL FROM campaign_members m "
        "WHERE m.campaign_id = :cid AND m.customer_id = c.id AND NOT m.holdout AND c.contract_end IS NOT NULL "
        "AND c.churned_on >= :s AND c.churned_on <= :e"), {"cid": cid, "s": starts_on, "e": ends_on})
    return int(cid)


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


def write_wide_csv(path: str | Path, *, n: int = 51_047, seed: int = 19, areas: int = 750, states: int = 50) -> Path:
    """A wide operator export shaped like the public handset/revenue churn sets: id, label, 40
    numeric and 16 categorical columns (58 in all), churn about 29 %, a weak signal (the Bayes
    AUC is about 0.70). `ServiceArea` has `areas` levels with a small real effect each (~70 rows a
    level at the default size: a model that splits on the raw levels memorises noise), `State` has
    `states` levels; blanks in a few numeric columns, yes/no flags, one ordered credit rating.
    """
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    months = rng.integers(6, 61, n).astype(np.float64)
    revenue = np.round(rng.gamma(3.0, 20.0, n), 2)
    minutes = np.round(revenue * rng.uniform(4, 12, n), 0)
    change_min = np.round(rng.normal(0, 0.25, n) * minutes, 0)
    change_rev = np.round(rng.normal(0, 0.15, n) * revenue, 2)
    equip_days = np.round(rng.gamma(2.0, 200.0, n), 0)
    care_calls = rng.poisson(1.2, n).astype(np.float64)
    dropped = rng.poisson(4.0, n).astype(np.float64)
    handset_price = rng.choice([10, 30, 60, 100, 150, 200, 250, 300, 400, 500], n).astype(np.float64)
    age = np.round(rng.normal(42, 14, n).clip(18, 95), 0)
    income = rng.integers(1, 10, n).astype(np.float64)
    retention_calls = rng.poisson(0.05, n).astype(np.float64)
    cols.update({"MonthlyRevenue": revenue, "MonthlyMinutes": minutes, "PercChangeMinutes": change_min,
                 "PercChangeRevenues": change_rev, "CurrentEquipmentDays": equip_days,
                 "CustomerCareCalls": care_calls, "DroppedCalls": dropped, "HandsetPrice": handset_price,
                 "MonthsInService": months, "AgeHH1": age, "IncomeGroup": income, "RetentionCalls": retention_calls})
    for k in range(40 - len(cols)):  # usage counters correlated with minutes, most of them noise
        cols[f"Usage{k:02d}"] = np.round(minutes * rng.uniform(0, 0.2) + rng.gamma(2.0, 5.0, n), 1)
    flags = {f"Flag{k:02d}": rng.random(n) < rng.uniform(0.05, 0.5) for k in range(11)}
    credit = rng.choice(list("1234567"), n, p=[0.15, 0.3, 0.2, 0.15, 0.1, 0.05, 0.05])
    marital = rng.choice(["Yes", "No", "Unknown"], n, p=[0.4, 0.2, 0.4])
    prizm = rng.choice(["Suburban", "Town", "Rural", "Other"], n)
    area_effect = rng.normal(0, 0.35, areas)
    area = rng.choice(areas, n, p=rng.dirichlet(np.full(areas, 2.0)))
    state_effect = rng.normal(0, 0.15, states)
    state = rng.integers(0, states, n)
    logit = (-1.25 + 0.55 * (months >= 10) * (months <= 14) - 0.012 * (months - 30) - 0.0009 * change_min
             + 0.0012 * (equip_days - 400) + 0.08 * care_calls + 0.9 * (retention_calls > 0)
             - 0.0012 * (handset_price - 150) + 0.004 * (revenue - 60) - 0.0006 * (minutes - 500).clip(-400, 400)
             + 0.25 * flags["Flag00"] - 0.2 * flags["Flag01"] + 0.08 * (credit.astype(int) - 3)
             + 0.3 * (marital == "Unknown") * (age < 35) + area_effect[area] + state_effect[state])
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    for name in ("AgeHH1", "PercChangeMinutes", "PercChangeRevenues"):
        cols[name] = np.where(rng.random(n) < 0.02, np.nan, cols[name])
    path = Path(path)
    num_names = list(cols)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["CustomerID", "Churn", *num_names, *flags, "CreditRating", "MaritalStatus", "PrizmCode",
                    "ServiceArea", "State"])
        for i in range(n):
            nums = ["" if np.isnan(cols[c][i]) else f"{cols[c][i]:g}" for c in num_names]
            w.writerow([3000000 + 4 * i, "Yes" if churn[i] else "No", *nums,
                        *("Yes" if flags[f][i] else "No" for f in flags), f"{credit[i]}-Rating", marital[i],
                        prizm[i], f"AREA{area[i]:03d}", f"S{state[i]:02d}"])
    return path
