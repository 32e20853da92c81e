"""One realistic day of changes between two nightly runs, applied set-based (for `nightly.py --night real`).

A rerun over unchanged data is a lower bound for a night; a real night follows a day in which
about 3 % of customers got new usage or bills (the usage feed upserts the current month), some
complained or called a competitor's hotline, 1 % subscribed or cancelled an add-on, managers
and campaigns touched customers, key moments arrived, a few customers' attributes changed
(status, plan, contract) and the back office edited a few tag rules. Each change is one
INSERT … SELECT or UPDATE over a deterministic pseudo-random slice of customers (hashint8 of
the id and a salt), as the feeds write them: no per-row Python. Every touched customer's
`updated_at` (and the child rows' `created_at`) moves to now(), which is what an incremental
engine keys on.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from shared.db.embedded import to_sync_url


def _slice(salt: int, per_mille: int) -> str:
    """A deterministic slice of customers: `per_mille` in 1,000 of them, different per salt."""
    return f"abs(hashint8(c.id # {salt})) % 1000 < {per_mille}"


# (what, SQL) — run in order, one transaction; each reports its row count
DAY: list[tuple[str, str]] = [
    (
        "usage and bills (3 % of customers, current month upserted)",
        f"""
        INSERT INTO monthly_usage AS mu (customer_id, month, plan_id, voice_min, data_mb, sms,
            voice_allowance_min, data_allowance_mb, bill_fen, topup_fen, topup_count, broadband_gb, active_days)
        SELECT c.id, m.month, c.plan_id, 30 + c.id % 90, 800 + c.id % 4000, c.id % 20,
            0, 0, 2000 + c.id % 9000, 0, 0, 0, 1
        FROM customers c, (SELECT max(month) AS month FROM monthly_usage) m
        WHERE c.status = 'active' AND {_slice(17, 30)}
        ON CONFLICT (customer_id, month) DO UPDATE SET
            voice_min = mu.voice_min + EXCLUDED.voice_min / 10,
            data_mb = mu.data_mb + EXCLUDED.data_mb / 10,
            sms = mu.sms + 1,
            bill_fen = mu.bill_fen + EXCLUDED.bill_fen / 10,
            active_days = least(mu.active_days + 1, 31),
            updated_at = now()
        """,
    ),
    (
        "complaints (0.3 %)",
        f"""
        INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction)
        SELECT c.id, now() - interval '3 hours',
            (ARRAY['network','tariff','service','billing'])[1 + c.id % 4], 'hotline', c.id % 3 = 0, 1 + c.id % 5
        FROM customers c WHERE c.status = 'active' AND {_slice(29, 3)}
        """,
    ),
    (
        "competitor-hotline calls (0.2 %)",
        f"""
        INSERT INTO competitor_calls (customer_id, called_at, competitor, duration_s, source_ref)
        SELECT c.id, now() - interval '5 hours', (ARRAY['unicom','telecom'])[1 + c.id % 2], 60 + c.id % 600,
            'realday-' || c.id || '-' || extract(epoch FROM now())::bigint
        FROM customers c WHERE c.status = 'active' AND {_slice(31, 2)}
        """,
    ),
    (
        "new add-on subscriptions (0.6 %)",
        f"""
        INSERT INTO subscriptions (customer_id, product_id, status, starts_on, channel, charge_fen)
        SELECT c.id, p.id, 'active', current_date, 'app', 0
        FROM customers c
        JOIN LATERAL (SELECT id FROM products ORDER BY id OFFSET (c.id % 5) LIMIT 1) p ON true
        WHERE c.status = 'active' AND {_slice(37, 6)}
        """,
    ),
    (
        "cancelled subscriptions (0.4 %)",
        f"""
        UPDATE subscriptions s SET status = 'cancelled', cancelled_at = now(), ends_on = current_date
        FROM customers c
        WHERE s.customer_id = c.id AND s.status = 'active' AND {_slice(41, 4)}
        """,
    ),
    (
        "contacts (1 %: manager calls, SMS, app pushes)",
        f"""
        INSERT INTO touches (customer_id, channel, outcome, occurred_at, cost_fen, visible_to_customer)
        SELECT c.id, (ARRAY['outbound_call','sms','app_push','manager_visit'])[1 + c.id % 4],
            (ARRAY['reached','no_answer','interested'])[1 + c.id % 3], now() - interval '2 hours', 0, true
        FROM customers c WHERE {_slice(43, 10)}
        """,
    ),
    (
        "key moments (0.2 %)",
        f"""
        INSERT INTO key_moment_events (customer_id, kind, payload, source, external_id, processed_at, result)
        SELECT c.id, 'hotline_call', '{{"reason": "network"}}'::jsonb, 'realday',
            c.id || '-' || extract(epoch FROM now())::bigint, now(), '{{}}'::jsonb
        FROM customers c WHERE {_slice(47, 2)}
        """,
    ),
    (
        "customer changes (0.3 %: contract renewed, a few lost)",
        f"""
        UPDATE customers c SET
            contract_end = CASE WHEN c.id % 10 = 0 THEN c.contract_end ELSE current_date + 365 END,
            status = CASE WHEN c.id % 10 = 0 THEN 'churned' ELSE c.status END,
            churned_on = CASE WHEN c.id % 10 = 0 THEN current_date ELSE c.churned_on END,
            updated_at = now()
        WHERE c.status = 'active' AND {_slice(53, 3)}
        """,
    ),
    (
        "customers touched by the day (updated_at)",
        """
        UPDATE customers c SET updated_at = now()
        WHERE c.id IN (
            SELECT customer_id FROM complaints WHERE created_at > now() - interval '1 minute'
            UNION SELECT customer_id FROM competitor_calls WHERE created_at > now() - interval '1 minute'
            UNION SELECT customer_id FROM subscriptions WHERE created_at > now() - interval '1 minute'
                OR cancelled_at > now() - interval '1 minute'
            UNION SELECT customer_id FROM touches WHERE created_at > now() - interval '1 minute'
            UNION SELECT customer_id FROM key_moment_events WHERE created_at > now() - interval '1 minute'
        ) AND c.updated_at < now()
        """,
    ),
    (
        "tag rule edits (version bump on 5 rules)",
        """
        UPDATE tag_definitions SET version = version + 1
        WHERE id IN (SELECT id FROM tag_definitions WHERE active ORDER BY id LIMIT 5)
        """,
    ),
]


def apply_day(url: str) -> dict:
    """Apply the day in one transaction; returns rows per change and seconds (and ANALYZEs, as autovacuum would)."""
    eng = create_sync_engine(to_sync_url(url))
    out: dict = {"changes": {}}
    t = time.perf_counter()
    with eng.begin() as c:
        for what, sql in DAY:
            out["changes"][what] = c.execute(text(sql)).rowcount
    out["apply_s"] = round(time.perf_counter() - t, 1)
    eng.dispose()
    eng = create_sync_engine(to_sync_url(url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        t = time.perf_counter()
        c.execute(text("VACUUM (ANALYZE)"))
        out["vacuum_s"] = round(time.perf_counter() - t, 1)
    eng.dispose()
    return out
