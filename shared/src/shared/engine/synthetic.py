"""A small synthetic city with planted behaviours, for the engine's tests and the nightly benchmark
when the demo generator is not available. All set-based SQL (generate_series), deterministic.

Customer k of the city (id = start + k) falls in a bucket by k % 100:
  1–3 high pay-per-use data · 4–5 heavy roaming/long distance · 6–7 silent (almost no use)
  8–9 high bill, low use (ARPU mismatch) · 10–14 drifters (usage and bill collapse in the last
  three months, competitor-hotline calls, a tariff complaint) · 15–17 VIPs (8 years, high bills)
  18 network complaints · 19 low balance · others ordinary (moderate use of their allowance).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

BUCKETS = {
    "payg": range(1, 4), "tariff": range(4, 6), "silent": range(6, 8), "arpu_mismatch": range(8, 10),
    "drifter": range(10, 15), "vip": range(15, 18), "network": range(18, 19), "low_balance": range(19, 20),
}


def planted(kind: str, start: int, n: int) -> list[int]:
    return [start + k for k in range(1, n + 1) if k % 100 in BUCKETS[kind]]


def _months_back(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(y, m + 1, 1)


_PRODUCTS = [
    # code, name, kind, monthly fee, data MB, voice min
    ("SYN-PLAN-58", "畅享 58 元套餐", "plan", 5800, 10240, 500),
    ("SYN-PLAN-128", "畅享 128 元套餐", "plan", 12800, 30720, 1000),
    ("SYN-PLAN-199", "畅享 199 元套餐", "plan", 19900, 61440, 2000),
    ("SYN-DATA-10G", "10GB 流量包", "data_pack", 2000, 10240, 0),
    ("SYN-VOICE-300", "300 分钟语音包", "voice_pack", 1500, 0, 300),
    ("SYN-CONTRACT", "存 300 送 50% 合约", "contract", 0, 0, 0),
    ("SYN-RECHARGE", "充 100 送 60(6 个月)", "recharge_bonus", 0, 0, 0),
    ("SYN-BB-500", "500M 宽带", "broadband", 5000, 0, 0),
    ("SYN-FAMILY", "亲情共享", "family", 1000, 0, 0),
    ("SYN-VIDEO", "视频会员", "membership", 1500, 0, 0),
]

_CUSTOMERS = """
INSERT INTO customers (id, phone, phone_last4, name, gender, birthday, join_date, status, tier, branch_id, plan_id,
                       contract_end, do_not_disturb)
SELECT CAST(:start AS bigint) + k,
       '138' || lpad((:start + k)::text, 8, '0'),
       right(lpad((:start + k)::text, 8, '0'), 4),
       (ARRAY['王','李','张','刘','陈','杨','黄','赵'])[1 + k % 8] || (ARRAY['伟','芳','娜','敏','静','磊','洋','勇'])[1 + (k / 8) % 8],
       CASE WHEN k % 2 = 0 THEN 'M' ELSE 'F' END,
       DATE '1955-01-01' + ((k * 37) % 17000),
       CASE WHEN k % 100 BETWEEN 15 AND 17 THEN CAST(:run_date AS date) - 365 * 8
            ELSE CAST(:run_date AS date) - 30 * (7 + k % 80) END,
       'active', 'star1',
       (CAST(:branches AS int[]))[1 + k % cardinality(CAST(:branches AS int[]))],
       CASE WHEN k % 100 BETWEEN 8 AND 9 OR k % 100 BETWEEN 15 AND 17 OR k % 10 = 0 THEN CAST(:plan_c AS int)
            WHEN k % 3 = 0 THEN CAST(:plan_b AS int) ELSE CAST(:plan_a AS int) END,
       CASE WHEN k % 7 = 0 THEN CAST(:run_date AS date) + (k % 200) END,
       k % 50 = 49
FROM generate_series(1, CAST(:n AS int)) AS k
"""

_USAGE = """
INSERT INTO monthly_usage (customer_id, month, plan_id, voice_min, data_mb, sms, voice_allowance_min, data_allowance_mb,
    roaming_fen, long_distance_fen, payg_data_fen, plan_fee_fen, addon_fee_fen, other_fee_fen, bill_fen,
    topup_fen, topup_count, balance_end_fen, broadband_gb, active_days)
SELECT id, month, plan_id, voice, data, sms, va, da, roaming, ld, payg, fee, addon, 0, fee + addon + roaming + ld + payg,
       CASE WHEN b = 19 THEN 0 ELSE fee + 2000 END, CASE WHEN b = 19 THEN 0 ELSE 1 + k % 3 END,
       CASE WHEN b = 19 THEN 300 ELSE 5000 + (k * 13) % 20000 END,
       CASE WHEN k % 4 = 0 THEN 50 + k % 400 ELSE 0 END,
       CASE WHEN b BETWEEN 6 AND 7 THEN 2 WHEN late AND b BETWEEN 10 AND 14 THEN 6 ELSE 18 + k % 12 END
FROM (
    SELECT c.id, c.id - :start AS k, (c.id - :start) % 100 AS b, m.month, c.plan_id,
           p.monthly_fee_fen AS fee, p.voice_min AS va, p.data_mb AS da,
           m.month > CAST(:m3 AS date) AS late,
           (p.voice_min * CASE
               WHEN (c.id - :start) % 100 BETWEEN 6 AND 7 THEN 0.01
               WHEN (c.id - :start) % 100 BETWEEN 8 AND 9 THEN 0.25
               WHEN (c.id - :start) % 100 BETWEEN 10 AND 14 AND m.month > CAST(:m3 AS date) THEN 0.12
               ELSE 0.40 + ((c.id - :start) % 37) / 100.0 END)::int AS voice,
           (p.data_mb * CASE
               WHEN (c.id - :start) % 100 BETWEEN 6 AND 7 THEN 0.01
               WHEN (c.id - :start) % 100 BETWEEN 8 AND 9 THEN 0.20
               WHEN (c.id - :start) % 100 BETWEEN 1 AND 3 THEN 1.30
               WHEN (c.id - :start) % 100 BETWEEN 10 AND 14 AND m.month > CAST(:m3 AS date) THEN 0.10
               ELSE 0.40 + ((c.id - :start) % 41) / 100.0 END)::int AS data,
           10 + (c.id - :start) % 40 AS sms,
           CASE WHEN (c.id - :start) % 100 BETWEEN 4 AND 5 THEN 3500 ELSE ((c.id - :start) % 5) * 20 END AS roaming,
           CASE WHEN (c.id - :start) % 100 BETWEEN 4 AND 5 THEN 1500 ELSE 0 END AS ld,
           CASE WHEN (c.id - :start) % 100 BETWEEN 1 AND 3 THEN 4000 ELSE 0 END AS payg,
           CASE WHEN (c.id - :start) % 100 BETWEEN 15 AND 17 THEN 15000 ELSE 0 END AS addon
    FROM customers c
    JOIN products p ON p.id = c.plan_id
    CROSS JOIN (SELECT CAST(g AS date) AS month
                FROM generate_series(CAST(:m_first AS date), CAST(:m_last AS date), interval '1 month') AS g) m
    WHERE c.id > :start AND c.id <= :start + :n
) x
"""

_FACTS = [
    # drifters: two competitor-hotline calls in the last month and a tariff complaint
    """INSERT INTO competitor_calls (customer_id, called_at, competitor, duration_s)
       SELECT c.id, CAST(:as_of AS timestamptz) - make_interval(days => 3 + g * 5), 'unicom', 120
       FROM customers c CROSS JOIN generate_series(1, 2) g
       WHERE c.id > :start AND c.id <= :start + :n AND (c.id - :start) % 100 BETWEEN 10 AND 14""",
    """INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction)
       SELECT c.id, CAST(:as_of AS timestamptz) - interval '20 days',
              CASE WHEN (c.id - :start) % 100 = 18 THEN 'network' ELSE 'tariff' END, 'hotline', true, 3
       FROM customers c
       WHERE c.id > :start AND c.id <= :start + :n AND ((c.id - :start) % 100 BETWEEN 10 AND 14 OR (c.id - :start) % 100 = 18)""",
    """INSERT INTO handsets (customer_id, brand, model, price_band, dual_sim, started_on)
       SELECT c.id, (ARRAY['华为','苹果','小米','OPPO','vivo'])[1 + (c.id - :start) % 5], 'M' || (c.id % 9),
              (ARRAY['low','mid','high','flagship'])[1 + (c.id - :start) % 4], (c.id - :start) % 3 = 0,
              CAST(:run_date AS date) - CAST(30 * ((c.id - :start) % 40) AS int)
       FROM customers c WHERE c.id > :start AND c.id <= :start + :n""",
]


async def load_synthetic(
    session: AsyncSession, *, n: int, run_date: date, start: int | None = None, months: int = 6,
    managers_per_branch: int | None = None, branches: int = 4,
) -> dict[str, object]:
    """Create org, products, managers, n customers (ids start+1..start+n) with `months` months of
    usage ending the month before `run_date`. Returns {"start", "n", "branches", "managers"}.
    The caller commits."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    if start is None:
        start = int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM customers")) or 0)
    tag = f"{start}"
    dept = await session.scalar(text(
        "INSERT INTO org_units (kind, code, name) VALUES ('market_dept', :c, '市场部') RETURNING id"), {"c": f"SYN-MD-{tag}"})
    centre = await session.scalar(text(
        "INSERT INTO org_units (kind, code, name, parent_id) VALUES ('support_centre', :c, '产品支撑中心', :p) RETURNING id"),
        {"c": f"SYN-SC-{tag}", "p": dept})
    branch_ids = [
        await session.scalar(text(
            "INSERT INTO org_units (kind, code, name, parent_id) VALUES ('branch', :c, :n, :p) RETURNING id"),
            {"c": f"SYN-BR-{tag}-{i}", "n": f"县分公司 {i}", "p": centre})
        for i in range(branches)
    ]
    plan_ids: dict[str, int] = {}
    for code, name, kind, fee, data, voice in _PRODUCTS:
        pid = await session.scalar(text(
            "INSERT INTO products (code, name, kind, monthly_fee_fen, one_time_fee_fen, data_mb, voice_min) "
            "VALUES (:code, :name, :kind, :fee, 0, :data, :voice) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id"),
            {"code": code, "name": name, "kind": kind, "fee": fee, "data": data, "voice": voice})
        plan_ids[code] = pid
    per_branch = managers_per_branch or max(1, n // (branches * 2500))
    managers = 0
    for b, branch in enumerate(branch_ids):
        for i in range(per_branch):
            await session.execute(text(
                "INSERT INTO staff_users (username, full_name, role, org_unit_id, password_hash, active, capacity) "
                "VALUES (:u, :f, 'account_manager', :b, '!', true, 400)"),
                {"u": f"syn{tag}_{b}_{i}", "f": f"客户经理 {b}-{i}", "b": branch})
            managers += 1
    last = _months_back(run_date.replace(day=1), 1)
    first = _months_back(last, months - 1)
    month = first
    while month <= last:
        await session.execute(text("SELECT ensure_usage_partition(:m)"), {"m": month})
        month = _months_back(month, -1)
    base = {"start": start, "n": n, "run_date": run_date}
    await session.execute(text(_CUSTOMERS), {
        **base, "branches": branch_ids, "plan_a": plan_ids["SYN-PLAN-58"], "plan_b": plan_ids["SYN-PLAN-128"],
        "plan_c": plan_ids["SYN-PLAN-199"]})
    # ids were given explicitly: move the id sequence past them so ordinary inserts never collide
    await session.execute(text(
        "SELECT setval(pg_get_serial_sequence('customers', 'id'), "
        "greatest((SELECT max(id) FROM customers), (SELECT last_value FROM customers_id_seq)))"))
    await session.execute(text(_USAGE), {**base, "m_first": first, "m_last": last, "m3": _months_back(last, 3)})
    as_of = datetime.combine(run_date, time.min, ZoneInfo("Asia/Shanghai")) - timedelta(hours=1)
    for stmt in _FACTS:
        await session.execute(text(stmt), {**base, "as_of": as_of})
    return {"start": start, "n": n, "branches": branch_ids, "managers": managers, "last_month": last}
