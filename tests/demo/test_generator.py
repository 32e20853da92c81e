"""The synthetic city: shapes, identities, planted behaviours with their signal, determinism,
schema left exactly as migrated, and demo staff able to sign in.

The city is loaded into scratch databases created here (the session test database is shared with
other tests and the generator only loads into an empty one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal

import httpx
import numpy as np
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import create_engine

import shared.models  # noqa: F401
from manager_app.app import create_app as create_manager_app
from shared.auth.passwords import verify_secret
from shared.db.base import Base
from shared.db.embedded import to_sync_url
from shared.settings import Settings
from tenure_demo import generator, population, tables
from tenure_demo.copybin import encode
from tenure_demo.generator import DatabaseNotEmpty, load_city
from tests.fixtures.template import create_database, drop_database

N = 2000
MONTHS = 7
SEED = 7
AS_OF = date(2026, 6, 15)  # months 2025-11 .. 2026-05; churn window 2026-02-01 .. 2026-06-14


def _scratch(server_url: str) -> str:
    return create_database(server_url, "tenure_demo")


def _drop(server_url: str, url: str) -> None:
    drop_database(server_url, url)


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[tuple[str, dict, list[str]]]:
    url = _scratch(server_url)
    lines: list[str] = []
    try:
        result = load_city(url, customers=N, months=MONTHS, seed=SEED, as_of=AS_OF, progress=lines.append)
        yield url, result, lines
    finally:
        _drop(server_url, url)


def q(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql, params or None).fetchall()
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in rows]


def one(url: str, sql: str, *params: object) -> object:
    return q(url, sql, *params)[0][0]


def test_counts_org_staff_products_merchants(city: tuple[str, dict, list[str]]) -> None:
    url, result, lines = city
    assert one(url, "SELECT count(*) FROM customers") == N == result["rows"]["customers"]
    # every customer has a row per month up to the month they left (current-month churners: all months)
    expected = one(
        url,
        "SELECT sum(CASE WHEN churned_on < DATE '2026-06-01' THEN "
        "(extract(year FROM churned_on) - 2025) * 12 + extract(month FROM churned_on) - 10 "
        "ELSE %s END) FROM customers",
        MONTHS,
    )
    assert (
        N * MONTHS - 400
        < one(url, "SELECT count(*) FROM monthly_usage")
        == expected
        == result["rows"]["monthly_usage"]
        < N * MONTHS
    )
    for table in ("handsets", "complaints", "competitor_calls", "subscriptions", "merchants", "merchant_stores"):
        assert one(url, f"SELECT count(*) FROM {table}") == result["rows"][table] > 0
    assert any("customers" in line and "2,000/2,000" in line for line in lines)  # progress was printed

    kinds = dict(q(url, "SELECT kind, count(*) FROM org_units GROUP BY kind"))
    assert kinds["market_dept"] == 1 and kinds["support_centre"] == 1 and kinds["branch"] >= 3
    assert (
        one(
            url,
            "SELECT count(*) FROM org_units o JOIN org_units p ON p.id = o.parent_id "
            "WHERE o.kind = 'branch' AND p.kind = 'support_centre'",
        )
        == kinds["branch"]
    )
    users = {u: r for u, r in q(url, "SELECT username, role FROM staff_users")}
    for name in ("admin", "analyst", "strategist", "operator", "auditor"):
        assert users[name] == name
    assert users["head01"] == "branch_head" and users["mgr0001"] == "account_manager"
    assert users["hall01"] == "hall_staff"
    assert sum(r == "branch_head" for r in users.values()) == kinds["branch"]
    assert (
        one(
            url,
            "SELECT count(*) FROM org_units b WHERE b.kind = 'branch' AND NOT EXISTS "
            "(SELECT 1 FROM staff_users s WHERE s.org_unit_id = b.id AND s.role = 'account_manager')",
        )
        == 0
    )
    assert one(url, "SELECT count(DISTINCT password_hash) FROM staff_users") == 2  # hashed once per password
    assert one(url, "SELECT bool_and(password_hash LIKE '$argon2id$%%') FROM staff_users")

    kinds = {k for (k,) in q(url, "SELECT DISTINCT kind FROM products")}
    assert kinds == {
        "plan",
        "data_pack",
        "voice_pack",
        "contract",
        "recharge_bonus",
        "broadband",
        "family",
        "membership",
    }
    fees = sorted(f for (f,) in q(url, "SELECT monthly_fee_fen FROM products WHERE kind = 'plan'"))
    assert fees == [1800, 3800, 5800, 8800, 12800, 18800, 28800]
    assert one(url, "SELECT count(*) FROM products WHERE selling_points IS NULL") == 0
    assert one(url, "SELECT count(*) FROM customers c JOIN products p ON p.id = c.plan_id WHERE p.kind <> 'plan'") == 0
    assert one(url, "SELECT count(*) FROM customers WHERE tier <> 'star1'") == 0

    statuses = dict(q(url, "SELECT status, count(*) FROM merchants GROUP BY status"))
    assert statuses["approved"] > 0 and statuses.get("applied", 0) > 0
    per_store = q(
        url,
        "SELECT m.status, count(s.id) FROM merchants m LEFT JOIN merchant_stores s "
        "ON s.merchant_id = m.id GROUP BY m.id, m.status",
    )
    assert all(1 <= n <= 3 for st, n in per_store if st == "approved")
    assert all(n == 0 for st, n in per_store if st == "applied")


def test_every_customer_has_usage_for_every_month_until_churn(city: tuple[str, dict, list[str]]) -> None:
    url, result, _ = city
    months = [str(m) for (m,) in q(url, "SELECT DISTINCT month FROM monthly_usage ORDER BY 1")]
    assert (
        months
        == result["months"]
        == [
            f"{y}-{m:02d}-01"
            for y, m in [(2025, 11), (2025, 12), (2026, 1), (2026, 2), (2026, 3), (2026, 4), (2026, 5)]
        ]
    )
    assert (
        one(
            url,
            "SELECT count(*) FROM customers c WHERE (SELECT count(*) FROM monthly_usage u "
            "WHERE u.customer_id = c.id) <> %s AND (c.churned_on IS NULL OR c.churned_on >= '2026-06-01')",
            MONTHS,
        )
        == 0
    )
    # a churner's rows run without a gap from the first month to the churn month, and stop there
    assert (
        one(
            url,
            """SELECT count(*) FROM customers c JOIN LATERAL (
                           SELECT count(*) AS n, min(month) AS lo, max(month) AS hi FROM monthly_usage u
                           WHERE u.customer_id = c.id) u ON true
                       WHERE c.churned_on < DATE '2026-06-01' AND (u.lo <> DATE '2025-11-01'
                         OR u.hi <> date_trunc('month', c.churned_on)::date
                         OR u.n <> (extract(year FROM age(u.hi, u.lo)) * 12 + extract(month FROM age(u.hi, u.lo)) + 1))
                    """,
        )
        == 0
    )
    assert one(url, "SELECT count(*) FROM monthly_usage_default") == 0
    # bill adds up from its lines; the balance follows top-ups minus bills
    assert (
        one(
            url,
            "SELECT count(*) FROM monthly_usage WHERE bill_fen <> plan_fee_fen + addon_fee_fen + "
            "other_fee_fen + roaming_fen + long_distance_fen + payg_data_fen",
        )
        == 0
    )
    assert (
        one(
            url,
            """
        SELECT count(*) FROM (SELECT balance_end_fen, topup_fen, bill_fen,
               lag(balance_end_fen) OVER (PARTITION BY customer_id ORDER BY month) AS prev FROM monthly_usage) t
        WHERE prev IS NOT NULL AND balance_end_fen <> prev + topup_fen - bill_fen""",
        )
        == 0
    )
    assert (
        one(
            url,
            "SELECT count(*) FROM monthly_usage u JOIN products p ON p.id = u.plan_id "
            "WHERE p.kind <> 'plan' OR u.voice_allowance_min < p.voice_min "
            "OR u.data_allowance_mb < p.data_mb",
        )
        == 0
    )


def _id_check_digit(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def test_phones_ids_and_names_follow_the_agreed_pattern(city: tuple[str, dict, list[str]]) -> None:
    url, _, _ = city
    assert (
        one(
            url,
            "SELECT count(*) FROM customers WHERE phone <> '138' || lpad(id::text, 8, '0') "
            "OR phone_last4 <> right(phone, 4)",
        )
        == 0
    )
    assert one(url, "SELECT phone FROM customers WHERE id = 1") == "13800000001"
    rows = q(url, "SELECT id_number, birthday, gender, name FROM customers ORDER BY id LIMIT 300")
    for id_number, birthday, gender, name in rows:
        assert len(id_number) == 18 and id_number[17] == _id_check_digit(id_number[:17])
        assert id_number[6:14] == birthday.strftime("%Y%m%d")
        assert (int(id_number[16]) % 2 == 1) == (gender == "M")
        assert 2 <= len(name) <= 3 and all("\u4e00" <= ch <= "\u9fff" for ch in name)
    dnd = one(url, "SELECT avg(do_not_disturb::int) FROM customers")
    assert 0.005 < dnd < 0.05


def _by_group(url: str, sql: str) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in q(url, sql)}


def test_drifters_fade_call_competitors_complain_and_many_churn(city: tuple[str, dict, list[str]]) -> None:
    url, _, _ = city
    trend = _by_group(
        url,
        """
        SELECT coalesce(c.attributes->>'planted', 'normal'),
               avg(u.bill_fen) FILTER (WHERE u.month < DATE '2026-02-01'),
               avg(u.bill_fen) FILTER (WHERE u.month >= DATE '2026-03-01'),
               avg(u.data_mb + u.voice_min) FILTER (WHERE u.month < DATE '2026-02-01'),
               avg(u.data_mb + u.voice_min) FILTER (WHERE u.month >= DATE '2026-03-01')
        FROM customers c JOIN monthly_usage u ON u.customer_id = c.id
        WHERE c.status <> 'churned' OR c.attributes ? 'planted' GROUP BY 1""",
    )
    first, last, use_first, use_last = trend["drifter"]
    assert last < 0.8 * first and use_last < 0.6 * use_first
    n_first, n_last, _, _ = trend["normal"]
    assert n_last > 0.95 * n_first

    signals = _by_group(
        url,
        """
        SELECT coalesce(c.attributes->>'planted', 'normal'), count(*),
               avg((SELECT count(*) FROM competitor_calls k WHERE k.customer_id = c.id
                    AND k.called_at >= TIMESTAMPTZ '2026-06-15' - interval '91 days')),
               avg((SELECT count(*) FROM complaints k WHERE k.customer_id = c.id)),
               avg((c.status = 'churned')::int)
        FROM customers c GROUP BY 1""",
    )
    n, calls, complaints, churn = signals["drifter"]
    assert n > 30 and calls >= 1.5 and churn > 0.3
    assert complaints > 5 * signals["normal"][2]
    assert signals["normal"][1] < 0.2 and 0 < signals["normal"][3] < 0.05  # some natural churn noise
    assert (
        one(
            url,
            "SELECT count(*) FROM customers c WHERE c.attributes->>'planted' = 'drifter' AND NOT EXISTS "
            "(SELECT 1 FROM competitor_calls k WHERE k.customer_id = c.id)",
        )
        == 0
    )
    causes = {
        r[0]
        for r in q(url, "SELECT DISTINCT attributes->>'cause' FROM customers WHERE attributes->>'planted' = 'drifter'")
    }
    assert causes == {"network", "tariff", "service"}


def test_churn_is_spread_over_the_last_months_and_everything_leads_up_to_it(city: tuple[str, dict, list[str]]) -> None:
    url, result, _ = city
    assert one(url, "SELECT count(*) FROM customers WHERE (status = 'churned') <> (churned_on IS NOT NULL)") == 0
    lo, hi, n = q(url, "SELECT min(churned_on), max(churned_on), count(*) FROM customers WHERE status = 'churned'")[0]
    assert n == result["churned"] and 0.02 * N < n < 0.05 * N
    assert lo >= date(2026, 2, 1) and hi < AS_OF  # the last 4 complete months and the current partial one
    per_month = dict(
        q(
            url,
            "SELECT date_trunc('month', churned_on)::date, count(*) FROM customers WHERE status = 'churned' GROUP BY 1",
        )
    )
    assert sorted(per_month) == [date(2026, m, 1) for m in (2, 3, 4, 5, 6)]
    assert all(k >= 0.05 * n for m, k in per_month.items() if m < date(2026, 6, 1))
    # no usage after the churn month; the churn month itself is partial
    assert (
        one(
            url,
            "SELECT count(*) FROM monthly_usage u JOIN customers c ON c.id = u.customer_id "
            "WHERE u.month > c.churned_on",
        )
        == 0
    )
    assert (
        one(
            url,
            """SELECT avg(u.active_days) FROM customers c JOIN monthly_usage u ON u.customer_id = c.id
                       WHERE u.month = date_trunc('month', c.churned_on)
                         AND extract(day FROM c.churned_on) < 10""",
        )
        <= 10
    )
    # events before (or on) the churn day; a churner's subscriptions are over by then
    for table, at in (("complaints", "occurred_at"), ("competitor_calls", "called_at")):
        assert (
            one(
                url,
                f"SELECT count(*) FROM {table} k JOIN customers c ON c.id = k.customer_id "
                f"WHERE k.{at} >= c.churned_on + 1",
            )
            == 0
        ), table
    assert (
        one(
            url,
            "SELECT count(*) FROM handsets h JOIN customers c ON c.id = h.customer_id "
            "WHERE h.started_on > c.churned_on",
        )
        == 0
    )
    assert (
        one(
            url,
            """SELECT count(*) FROM subscriptions s JOIN customers c ON c.id = s.customer_id
                       WHERE c.status = 'churned' AND (s.status = 'active' OR s.starts_on > c.churned_on
                         OR s.ends_on > c.churned_on OR s.cancelled_at >= c.churned_on + 1
                         OR s.last_used_on > c.churned_on
                         OR (s.status = 'ended') <> (s.ends_on IS NOT NULL))""",
        )
        == 0
    )
    assert (
        one(
            url,
            "SELECT count(*) FROM subscriptions s JOIN customers c ON c.id = s.customer_id "
            "WHERE c.status = 'churned' AND s.status = 'ended'",
        )
        > 0
    )


def test_drifters_decline_towards_their_own_churn_month(city: tuple[str, dict, list[str]]) -> None:
    """A drifter who left in month k fades over k-2..k, not over the last three months of the file:
    usage in their churn month's predecessor is well below their first months', and their
    competitor calls come in the 90 days before they left."""
    url, _, _ = city
    early, late, k = q(
        url,
        """
        SELECT avg(u.data_mb + u.voice_min) FILTER (WHERE u.month < DATE '2025-12-01'),
               avg(u.data_mb + u.voice_min) FILTER (WHERE u.month = (date_trunc('month', c.churned_on)
                                                                      - interval '1 month')::date),
               count(DISTINCT c.id)
        FROM customers c JOIN monthly_usage u ON u.customer_id = c.id
        WHERE c.attributes->>'planted' = 'drifter' AND c.churned_on < DATE '2026-04-01'""",
    )[0]
    assert k >= 10 and late < 0.75 * early
    calls = one(
        url,
        """SELECT avg((SELECT count(*) FROM competitor_calls k WHERE k.customer_id = c.id
                                    AND k.called_at >= c.churned_on - 91))
                        FROM customers c WHERE c.attributes->>'planted' = 'drifter' AND c.status = 'churned'""",
    )
    assert calls >= 1.5


def test_four_high_silent_and_vip_customers_show_their_signal(city: tuple[str, dict, list[str]]) -> None:
    url, _, _ = city
    g = _by_group(
        url,
        """
        SELECT coalesce(c.attributes->>'planted', 'normal'), count(DISTINCT c.id),
               avg(u.roaming_fen + u.long_distance_fen) / 100, avg(u.payg_data_fen) / 100,
               avg(u.voice_min::numeric / u.voice_allowance_min), avg(u.data_mb::numeric / u.data_allowance_mb),
               avg(u.bill_fen) / 100, avg(u.plan_fee_fen) / 100, avg(u.active_days),
               avg((DATE '2026-06-15' - c.join_date) / 365.25)
        FROM customers c JOIN monthly_usage u ON u.customer_id = c.id GROUP BY 1""",
    )
    cols = ("n", "roam_ld", "payg", "voice_use", "data_use", "bill", "plan_fee", "active", "tenure")
    s = {group: dict(zip(cols, values, strict=True)) for group, values in g.items()}
    normal = s["normal"]
    tariff = s["high_tariff"]
    assert tariff["n"] >= 20 and tariff["roam_ld"] > 50 and tariff["plan_fee"] <= 58 and normal["roam_ld"] < 10
    payg = s["high_payg"]
    assert payg["n"] >= 20 and payg["payg"] > 40 and payg["data_use"] > 1.5 and normal["payg"] < 15
    silence = s["high_silence"]
    assert silence["n"] >= 20 and silence["voice_use"] < 0.15 and silence["data_use"] < 0.15
    assert normal["voice_use"] > 0.4 and normal["data_use"] > 0.4
    unused = one(
        url,
        """SELECT avg((EXISTS (SELECT 1 FROM subscriptions s JOIN products p ON p.id = s.product_id
                          WHERE s.customer_id = c.id AND p.kind IN ('membership', 'data_pack')
                          AND (s.last_used_on IS NULL OR s.last_used_on < DATE '2026-06-15' - 90)))::int)
                          FROM customers c WHERE c.attributes->>'planted' = 'high_silence'""",
    )
    assert unused > 0.6
    arpu = s["high_arpu"]
    assert arpu["n"] >= 20 and arpu["bill"] > 150 and arpu["voice_use"] < 0.2 and arpu["data_use"] < 0.2
    assert normal["bill"] < 120
    assert s["silent"]["n"] >= 20 and s["silent"]["active"] < 3 and normal["active"] > 20
    vip = s["vip"]
    assert vip["n"] >= 20 and vip["bill"] > 150 and vip["tenure"] >= 10


def test_schema_is_left_exactly_as_migrated(city: tuple[str, dict, list[str]]) -> None:
    url, _, _ = city
    assert _schema_diff(url) == []
    assert one(url, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0
    # every index usable: a partitioned table's index rebuilt `ON ONLY` the parent stays invalid
    # (and the incremental night's changed-usage probe fell back to a sequential scan)
    assert one(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == 0
    # the load may skip per-row FK triggers, so check referential integrity by hand
    for table in ("monthly_usage", "handsets", "complaints", "competitor_calls", "subscriptions"):
        assert (
            one(url, f"SELECT count(*) FROM {table} x LEFT JOIN customers c ON c.id = x.customer_id WHERE c.id IS NULL")
            == 0
        ), table
    assert (
        one(
            url,
            "SELECT count(*) FROM customers c LEFT JOIN org_units o ON o.id = c.branch_id "
            "LEFT JOIN products p ON p.id = c.plan_id WHERE o.id IS NULL OR p.id IS NULL",
        )
        == 0
    )
    assert (
        one(url, "SELECT count(*) FROM subscriptions s LEFT JOIN products p ON p.id = s.product_id WHERE p.id IS NULL")
        == 0
    )
    parts = one(
        url,
        "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid "
        "AND x.indisprimary WHERE i.inhparent = 'monthly_usage'::regclass",
    )
    assert parts == MONTHS + 1  # every partition (and the default one) has its primary key back
    for table in (
        "org_units",
        "staff_users",
        "products",
        "merchants",
        "merchant_stores",
        "handsets",
        "complaints",
        "competitor_calls",
        "subscriptions",
    ):
        assert one(url, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) > (SELECT max(id) FROM {table})"), (
            table
        )


def test_refuses_a_database_that_is_not_empty(city: tuple[str, dict, list[str]]) -> None:
    url, _, _ = city
    with pytest.raises(DatabaseNotEmpty):
        load_city(url, customers=10, seed=SEED, as_of=AS_OF, progress=lambda s: None)


CHECKSUM = """
SELECT md5(string_agg((to_jsonb(x) - 'created_at' - 'updated_at' - 'password_hash')::text, '|' ORDER BY {key}))
FROM {table} x WHERE {where}
"""
SAMPLES = {
    "customers": ("id", "id % 17 = 3"),
    "monthly_usage": ("customer_id, month", "customer_id % 17 = 3"),
    "handsets": ("id", "customer_id % 17 = 3"),
    "complaints": ("id", "true"),
    "competitor_calls": ("id", "true"),
    "subscriptions": ("id", "customer_id % 17 = 3"),
    "staff_users": ("id", "true"),
    "merchants": ("id", "true"),
}


def _checksums(url: str) -> dict[str, str]:
    return {t: one(url, CHECKSUM.format(table=t, key=k, where=w)) for t, (k, w) in SAMPLES.items()}


def _schema_diff(url: str) -> list:
    eng = create_engine(to_sync_url(url))
    with eng.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # usage partitions and the job queue's own schema (procrastinate) have no models
                "include_object": lambda o, n, t, r, c: (
                    not (t == "table" and (n.startswith("monthly_usage_") or n.startswith("procrastinate_")))
                ),
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
    eng.dispose()
    return diff


def test_same_seed_gives_the_same_city_also_on_the_non_superuser_path(
    city: tuple[str, dict, list[str]], server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second load with one worker and without superuser: FKs are dropped and re-validated."""
    url, _, _ = city
    monkeypatch.setattr(generator, "_is_superuser", lambda conn: False)
    again = _scratch(server_url)
    try:
        lines: list[str] = []
        load_city(again, customers=N, months=MONTHS, seed=SEED, as_of=AS_OF, progress=lines.append, workers=1)
        assert _checksums(again) == _checksums(url)
        assert any("foreign keys for the load" in line for line in lines)
        assert _schema_diff(again) == []
        assert one(again, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0
        assert (
            one(
                again,
                "SELECT count(*) FROM pg_constraint WHERE conparentid = 0 "
                "AND conname = 'fk_monthly_usage_customer_id_customers'",
            )
            == 1
        )
    finally:
        _drop(server_url, again)


def test_loader_sessions_compress_their_wal_where_the_server_allows(
    city: tuple[str, dict, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = city[0]
    with psycopg.connect(url) as plain:
        default = plain.execute("SHOW wal_compression").fetchone()[0]
        superuser = plain.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        lz4 = plain.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'wal_compression'").fetchone()[
            0
        ]
    with generator._connect(url) as conn:
        assert conn.execute("SHOW wal_compression").fetchone()[0] == ("lz4" if superuser and lz4 else default)
        assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "256MB"  # the session is usable
    monkeypatch.setattr(generator, "_is_superuser", lambda conn: False)
    with generator._connect(url) as conn:
        assert conn.execute("SHOW wal_compression").fetchone()[0] == default


def test_another_seed_gives_another_city() -> None:
    def rows(seed: int) -> bytes:
        pop = population.draw(500, months=3, seed=seed, as_of=AS_OF)
        return encode(tables.usage(pop, 0, 500, np.random.default_rng([seed, 1, 0, 1]))["monthly_usage"])

    assert rows(1) == rows(1)
    assert rows(1) != rows(2)


@pytest.fixture(scope="module")
async def city_manager_app(city: tuple[str, dict, list[str]]) -> AsyncIterator[FastAPI]:
    """The manager app pointed at the scratch city (the `manager_client` fixture serves the session DB)."""
    url, _, _ = city
    app = create_manager_app(Settings(DATABASE_URL=url, env="test"))
    async with app.router.lifespan_context(app):
        yield app


async def _login(app: FastAPI, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.post("/v1/auth/login", json={"username": username, "password": password})


async def test_demo_staff_can_sign_in(city_manager_app: FastAPI, city: tuple[str, dict, list[str]]) -> None:
    ok = await _login(city_manager_app, "mgr0001", "tenure-dev")
    assert ok.status_code == 200, ok.text
    assert ok.json()["access_token"]
    wrong = await _login(city_manager_app, "mgr0001", "not-the-password")
    assert wrong.status_code == 401
    assert set(wrong.json()) >= {"error", "detail"}
    admin_hash = one(city[0], "SELECT password_hash FROM staff_users WHERE username = 'admin'")
    assert (await verify_secret(admin_hash, "tenure-admin-dev"))[0]
