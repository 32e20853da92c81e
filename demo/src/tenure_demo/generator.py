"""Load a synthetic city into an EMPTY migrated database: org, staff, products, customers with
months of usage, handsets, complaints, competitor calls, subscriptions, merchants.

How it is fast enough (bench/load_subscribers.py: 1,000,000 subscribers × 7 months = 10.6M rows
in 150 s on the shared 2-core box at load average 14-18, i.e. with most of the CPU taken by other
processes; the load itself costs ~18 CPU-s in Python and ~38 CPU-s in Postgres backends):
- every column is generated vectorised with numpy (never a Python loop per customer row) and
  streamed with psycopg 3 **binary COPY** (`tenure_demo.copybin`). Chosen by measurement: binary
  COPY of 1M usage rows took ~3 s against ~5 s for `INSERT … SELECT generate_series`, and only
  client-side generation lets numpy plant correlated behaviours per customer;
- indexes, unique constraints and unreferenced primary keys of the big tables are dropped before
  the load and rebuilt after it from their own catalog definitions (so the end state is exactly
  the migration's), and the foreign keys' per-row triggers are skipped (see `_drop_load_slowers`);
- chunks of 100,000 customers are built and copied by two worker threads, each with its own
  connection and transaction (one COPY per table per chunk), so Python and Postgres use both
  cores; the rebuild afterwards also runs in two lanes.

Determinism: the same (seed, customers, months, as_of) gives the same rows and ids whatever the
thread interleaving: customer-level draws happen up front (`population.draw`), every chunk and
table has its own seeded random stream, and event ids are prefix sums of per-customer counts.

Ground truth for the planted behaviours is in `customers.attributes` (`{"planted": "drifter",
"cause": "network"}`, `{"planted": "high_tariff"}`, …; ordinary customers have `{}`); tiers are
left at star1 for the engine. Passwords: staff `tenure-dev`, `admin` `tenure-admin-dev` (argon2,
hashed once each).

`load_city(url, customers=N)` is synchronous (psycopg 3 + threads); `load_city_async` runs it
off the event loop. It refuses a database that already has customers, products, org units or
staff (DatabaseNotEmpty). Not safe to run while other sessions write the same tables.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from shared.auth.passwords import hash_secret
from shared.db.embedded import to_libpq_url
from tenure_demo import catalog, tables
from tenure_demo.copybin import HEADER, TRAILER, Column, encode
from tenure_demo.population import GROUPS, Population, draw

CHUNK = 100_000
WORKERS = 2
STAFF_PASSWORD = "tenure-dev"
ADMIN_PASSWORD = "tenure-admin-dev"
HIGH_VALUE_PER_MANAGER = 400
HALL_STAFF_PER_BRANCH = 2
BIG_TABLES = [
    "customers",
    "monthly_usage",
    "daily_usage",
    "handsets",
    "complaints",
    "competitor_calls",
    "subscriptions",
]
IDENTITY_TABLES = [
    "org_units",
    "staff_users",
    "products",
    "merchants",
    "merchant_stores",
    "handsets",
    "complaints",
    "competitor_calls",
    "subscriptions",
]
BRANCH_ID0 = 3  # org_units: 1 market department, 2 support centre, 3.. branches

Progress = Callable[[str], None]


class DatabaseNotEmpty(RuntimeError):
    pass


def _connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(to_libpq_url(url))
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute("SET work_mem = '256MB'")
    conn.commit()
    _compress_wal(conn)
    return conn


def _compress_wal(conn: psycopg.Connection) -> None:
    """lz4 for the full-page images in this session's WAL, which are most of what an index build
    writes: the 1M load wrote 2.0 GB of WAL instead of 2.25 GB and took 2.2 s less (three paired
    runs, 28.5 s against 30.5 s on average). A superuser setting; without the right or without lz4
    in the server's build the session keeps the server's default."""
    try:
        if _is_superuser(conn):
            conn.execute("SET wal_compression = lz4")
    except psycopg.errors.InvalidParameterValue:
        conn.rollback()
    else:
        conn.commit()


def _copy(conn: psycopg.Connection, table: str, columns: list[Column]) -> int:
    data = encode(columns)
    cols = ", ".join(c.name for c in columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(HEADER)
        view = memoryview(data)
        for i in range(0, len(view), 8 << 20):
            cp.write(view[i : i + (8 << 20)])
        cp.write(TRAILER)
    n = columns[0].values
    return int(n.n if hasattr(n, "n") else len(n))


def _copy_rows(conn: psycopg.Connection, table: str, cols: list[str], rows: list[tuple]) -> int:
    """Small reference tables (a few hundred rows): text COPY row by row is plenty."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
    return len(rows)


# --- schema preparation ------------------------------------------------------------------------


@dataclass
class _Deferred:
    """What was dropped for the load, as the catalog described it (so restoring is exact)."""

    indexes: list[tuple[str, str]]  # (table, DDL)
    fks: list[tuple[str, str, str, bool]]  # (table, name, definition, table is partitioned)
    triggers_off: bool  # FKs kept, their per-row triggers skipped (session_replication_role)


def _is_superuser(conn: psycopg.Connection) -> bool:
    return bool(conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0])


def _drop_load_slowers(conn: psycopg.Connection) -> _Deferred:
    """Drop indexes, unique constraints and unreferenced primary keys on the big tables, and deal
    with their foreign keys; `_restore` puts everything back from these catalog definitions.

    Measured per 1M `monthly_usage` rows: COPY costs ~1.7x the server CPU with the primary key in
    place (a sorted rebuild afterwards is a fraction of the difference) and ~3x with the FK's
    per-row trigger. As superuser (dev, embedded, compose) the FKs stay and the loader sessions
    set `session_replication_role = replica`, as `pg_restore --disable-triggers` does: the
    generator's ids are consistent by construction (tests check for orphans) and nothing needs
    re-validating. Otherwise the FKs are dropped and re-added, which validates them.
    """
    triggers_off = _is_superuser(conn)
    tabs = "{" + ",".join(BIG_TABLES) + "}"
    cons = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid), r.relkind = 'p' "
        "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
        "WHERE c.conparentid = 0 AND c.conrelid = ANY(%s::regclass[]) AND (c.contype IN ('f', 'u') "
        "  OR c.contype = 'p' AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.conrelid)) "
        "ORDER BY c.contype DESC, 2",
        (tabs,),
    ).fetchall()
    if triggers_off:
        cons = [c for c in cons if c[2] != "f"]
    idx = conn.execute(
        "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 2",
        (tabs,),
    ).fetchall()
    deferred = _Deferred(
        indexes=[(t, f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}') for t, name, kind, d, _ in cons if kind in "pu"]
        # a partitioned table's index reads back as `ON ONLY` (the parent alone, left invalid with no
        # index on any partition): recreated without ONLY, it is built on every partition
        + [(t, d.replace(" ON ONLY ", " ON ", 1)) for t, _, d in idx],
        fks=[(t, name, d, part) for t, name, kind, d, part in cons if kind == "f"],
        triggers_off=triggers_off,
    )
    for t, name, _, _, _ in cons:
        conn.execute(f'ALTER TABLE {t} DROP CONSTRAINT "{name}"')
    for _, name, _ in idx:
        conn.execute(f"DROP INDEX {name}")
    return deferred


def _restore(url: str, deferred: _Deferred, progress: Progress) -> dict[str, float]:
    """Recreate what `_drop_load_slowers` dropped, and ANALYZE, on two connections (two cores).

    Work is grouped per table (statements on one table run in order on one connection); lane A
    starts with `customers`, lane B with `monthly_usage`, then both take the small tables from a
    shared queue. Plain tables get their FKs back as NOT VALID up front and VALIDATEd in their
    group (weaker locks); the partitioned monthly_usage FK cannot be NOT VALID, so it is added
    after its primary key, by which time lane A is normally done locking `customers`.
    `monthly_usage` is analyzed with a statistics target of 30 (it is 7M+ rows; autovacuum
    refines the partitions later). Returns seconds per statement.
    """
    plain = [(t, n, d) for t, n, d, part in deferred.fks if not part]
    small = [t for t in BIG_TABLES if t not in ("customers", "monthly_usage")]

    def group(table: str) -> list[str]:
        return (
            [d for t, d in deferred.indexes if t == table]
            + [f'ALTER TABLE {t} VALIDATE CONSTRAINT "{n}"' for t, n, _ in plain if t == table]
            + [f"ANALYZE {table}"]
        )

    usage_group = [d for t, d in deferred.indexes if t == "monthly_usage"]
    usage_group += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, part in deferred.fks if part]
    usage_group += ["SET default_statistics_target = 30", "ANALYZE monthly_usage", "RESET default_statistics_target"]
    queue = [group(t) for t in small] + [
        [f"ANALYZE {t}" for t in ("org_units", "staff_users", "products", "merchants", "merchant_stores")]
    ]
    lock = threading.Lock()
    steps: dict[str, float] = {}

    def run(first: list[str]) -> None:
        with _connect(url) as conn:
            conn.autocommit = True
            todo: list[str] | None = first
            while todo is not None:
                for sql in todo:
                    t = time.perf_counter()
                    conn.execute(sql)
                    steps[sql] = round(time.perf_counter() - t, 2)
                with lock:
                    todo = queue.pop(0) if queue else None

    t0 = time.perf_counter()
    with _connect(url) as conn:
        conn.autocommit = True
        for t, name, d in plain:
            conn.execute(f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d} NOT VALID')
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(run, group("customers")), pool.submit(run, usage_group)]:
            f.result()
    elapsed = time.perf_counter() - t0
    slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:3]
    progress(
        f"· rebuilt {len(deferred.indexes)} indexes"
        + (f" and {len(deferred.fks)} foreign keys" if deferred.fks else "")
        + f", analyzed ({elapsed:.1f}s; slowest: "
        + "; ".join(f"{sql[:50]}… {t:.1f}s" for sql, t in slowest)
        + ")"
    )
    return steps


# --- reference data: org, staff, products, merchants -------------------------------------------


def _branch_names(k: int) -> list[tuple[str, str]]:
    out = []
    for i in range(k):
        district, _, towns = catalog.DISTRICTS[i % len(catalog.DISTRICTS)]
        r = i // len(catalog.DISTRICTS)
        if r == 0:
            name = f"{district}分公司"
        elif r <= len(towns):
            name = f"{district}{towns[r - 1]}营业部"
        else:
            name = f"{district}第{r}营业部"
        out.append((f"BR-{i + 1:02d}", name))
    return out


def _person(rnd: random.Random) -> str:
    given = catalog.GIVEN_MALE if rnd.random() < 0.5 else catalog.GIVEN_FEMALE
    return rnd.choice(catalog.SURNAMES[:40]) + "".join(rnd.choice(given) for _ in range(rnd.choice((1, 2))))


def _managers_per_branch(pop: Population) -> list[int]:
    hv = np.bincount(pop.branch[pop.high_value], minlength=pop.n_branches)
    total = max(pop.n_branches, math.ceil(int(hv.sum()) / HIGH_VALUE_PER_MANAGER))
    share = hv / max(1, hv.sum()) * (total - pop.n_branches)
    alloc = 1 + np.floor(share).astype(int)
    rest = total - int(alloc.sum())
    for b in np.argsort(-(share - np.floor(share)), kind="stable")[:rest]:
        alloc[b] += 1
    return alloc.tolist()


def _load_reference(conn: psycopg.Connection, pop: Population, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    branches = _branch_names(pop.n_branches)
    org = [(1, "market_dept", "MD-SX", "绍兴分公司市场部", None), (2, "support_centre", "SC-SX", "产品支撑中心", 1)]
    org += [(BRANCH_ID0 + i, "branch", code, name, 2) for i, (code, name) in enumerate(branches)]
    counts = {"org_units": _copy_rows(conn, "org_units", ["id", "kind", "code", "name", "parent_id"], org)}

    staff_hash, admin_hash = hash_secret(STAFF_PASSWORD), hash_secret(ADMIN_PASSWORD)
    staff: list[tuple] = [("admin", "系统管理员", "admin", 1, admin_hash)]
    staff += [(r, _person(rnd), r, 2, staff_hash) for r in ("analyst", "strategist", "operator", "auditor")]
    staff += [
        (f"head{i + 1:02d}", _person(rnd), "branch_head", BRANCH_ID0 + i, staff_hash) for i in range(pop.n_branches)
    ]
    k = 0
    for b, count in enumerate(_managers_per_branch(pop)):
        for _ in range(count):
            k += 1
            staff.append((f"mgr{k:04d}", _person(rnd), "account_manager", BRANCH_ID0 + b, staff_hash))
    staff += [
        (f"hall{i + 1:02d}", _person(rnd), "hall_staff", BRANCH_ID0 + i // HALL_STAFF_PER_BRANCH, staff_hash)
        for i in range(pop.n_branches * HALL_STAFF_PER_BRANCH)
    ]
    rows = [
        (i + 1, u, name, role, unit, f"0575-8{rnd.randrange(10**6, 10**7)}", h, HIGH_VALUE_PER_MANAGER)
        for i, (u, name, role, unit, h) in enumerate(staff)
    ]
    counts["staff_users"] = _copy_rows(
        conn,
        "staff_users",
        ["id", "username", "full_name", "role", "org_unit_id", "work_phone", "password_hash", "capacity"],
        rows,
    )
    counts["account_managers"] = k

    cols = [
        "id",
        "code",
        "name",
        "kind",
        "monthly_fee_fen",
        "one_time_fee_fen",
        "data_mb",
        "voice_min",
        "sms",
        "duration_months",
        "eligibility",
        "selling_points",
        "description",
        "active",
    ]
    rows = [
        (
            i + 1,
            p["code"],
            p["name"],
            p["kind"],
            p["monthly_fee_fen"],
            p["one_time_fee_fen"],
            p["data_mb"],
            p["voice_min"],
            p["sms"],
            p["duration_months"],
            Jsonb(p["eligibility"]),
            p["selling_points"],
            p["description"],
            True,
        )
        for i, p in enumerate(catalog.PRODUCTS)
    ]
    counts["products"] = _copy_rows(conn, "products", cols, rows)
    return counts


def _load_merchants(conn: psycopg.Connection, n_customers: int, seed: int, as_of: date) -> dict[str, int]:
    rnd = random.Random(seed + 1)
    count = max(12, min(400, n_customers // 5000))
    cats = list(catalog.MERCHANT_CATEGORIES)
    merchants, stores = [], []
    for i in range(count):
        cat = cats[i % len(cats)] if i < len(cats) else rnd.choice(cats)
        brand = rnd.choice(catalog.MERCHANT_CATEGORIES[cat])
        district = rnd.choice(catalog.DISTRICTS)[0]
        road = rnd.choice(catalog.ROADS)
        approved = i % 8 != 7  # one in eight is still waiting for approval
        approved_at = (
            (datetime(as_of.year, as_of.month, as_of.day, 2, tzinfo=UTC) - timedelta(days=rnd.randrange(20, 700)))
            if approved
            else None
        )
        merchants.append(
            (
                i + 1,
                f"{brand}({road}店)",
                cat,
                _person(rnd),
                f"139{rnd.randrange(10**8):08d}",
                f"6222{rnd.randrange(10**15):015d}",
                "approved" if approved else "applied",
                approved_at,
            )
        )
        if approved:
            for _ in range(rnd.randint(1, 3)):
                road2 = rnd.choice(catalog.ROADS)
                stores.append(
                    (
                        len(stores) + 1,
                        i + 1,
                        f"{brand}{road2}店",
                        f"浙江省绍兴市{district}{road2}{rnd.randrange(1, 600)}号",
                    )
                )
    return {
        "merchants": _copy_rows(
            conn,
            "merchants",
            ["id", "name", "category", "contact_name", "contact_phone", "settlement_account", "status", "approved_at"],
            merchants,
        ),
        "merchant_stores": _copy_rows(conn, "merchant_stores", ["id", "merchant_id", "name", "address"], stores),
    }


# --- the customer chunks -----------------------------------------------------------------------


def _load_chunks(
    url: str, pop: Population, seed: int, workers: int, progress: Progress, *, triggers_off: bool
) -> dict[str, int]:
    branch_ids = np.arange(BRANCH_ID0, BRANCH_ID0 + pop.n_branches, dtype=np.int64)
    chunks = [(i, lo, min(pop.n, lo + CHUNK)) for i, lo in enumerate(range(0, pop.n, CHUNK))]
    totals: dict[str, int] = {t: 0 for t in BIG_TABLES}
    lock = threading.Lock()
    local = threading.local()
    conns: list[psycopg.Connection] = []
    t0 = time.perf_counter()

    def one(chunk: tuple[int, int, int]) -> None:
        idx, lo, hi = chunk
        if not hasattr(local, "conn"):
            local.conn = _connect(url)
            if triggers_off:
                local.conn.execute("SET session_replication_role = replica")
                local.conn.commit()
            with lock:
                conns.append(local.conn)
        conn = local.conn
        rows = {
            "customers": _copy(
                conn, "customers", tables.customers(pop, lo, hi, np.random.default_rng([seed, 1, idx, 0]), branch_ids)
            )
        }
        for t, (name, build) in enumerate(tables.BUILDERS.items(), start=1):
            built = build(pop, lo, hi, np.random.default_rng([seed, 1, idx, t]))
            for table, cols in built.items() if isinstance(built, dict) else [(name, built)]:
                rows[table] = _copy(conn, table, cols) if cols else 0
        conn.commit()
        with lock:
            for k, v in rows.items():
                totals[k] += v
            done = totals["customers"]
            el = time.perf_counter() - t0
            progress(
                f"  customers {done:>10,}/{pop.n:,}  usage rows {totals['monthly_usage']:>11,}  "
                f"{el:6.1f}s  {done / el:9,.0f} customers/s"
            )

    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for f in [pool.submit(one, c) for c in chunks]:
                f.result()
    finally:
        for c in conns:
            c.close()
    return totals


# --- entry points ------------------------------------------------------------------------------


def load_city(
    database_url: str,
    *,
    customers: int,
    months: int = 7,
    seed: int = 42,
    progress: Progress = print,
    as_of: date | None = None,
    workers: int = WORKERS,
) -> dict[str, Any]:
    """Load the city; return per-table row counts, timings and the month range.

    Synchronous (psycopg 3 + threads). `as_of` (default today) fixes "the last complete month".
    Raises DatabaseNotEmpty if the base tables already hold data.
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be positive")
    as_of = as_of or date.today()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    pop = draw(customers, months=months, seed=seed, as_of=as_of)
    month_list = [str(m) for m in pop.months]
    progress(
        f"· drew {customers:,} customers in {pop.n_branches} branches, "
        f"{months} months {month_list[0]}..{month_list[-1]} ({time.perf_counter() - t0:.1f}s)"
    )

    with _connect(database_url) as conn:
        busy = conn.execute(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) a) + "
            "(SELECT count(*) FROM (SELECT 1 FROM products LIMIT 1) b) + "
            "(SELECT count(*) FROM (SELECT 1 FROM org_units LIMIT 1) c) + "
            "(SELECT count(*) FROM (SELECT 1 FROM staff_users LIMIT 1) d)"
        ).fetchone()[0]
        if busy:
            raise DatabaseNotEmpty("load_city needs an empty migrated database (found existing rows)")
        counts = _load_reference(conn, pop, seed)
        counts.update(_load_merchants(conn, customers, seed, as_of))
        for m in month_list:
            conn.execute("SELECT ensure_usage_partition(%s::date)", (m,))
        deferred = _drop_load_slowers(conn)
        conn.commit()
    timings["reference_s"] = time.perf_counter() - t0
    progress(
        f"· org, {counts['staff_users']} staff ({counts['account_managers']} account managers), "
        f"{counts['products']} products, {counts['merchants']} merchants; dropped "
        f"{len(deferred.indexes)} indexes"
        + ("" if deferred.triggers_off else f" and {len(deferred.fks)} foreign keys")
        + " for the load"
        + (" (foreign-key triggers off)" if deferred.triggers_off else "")
    )

    t1 = time.perf_counter()
    try:
        counts.update(_load_chunks(database_url, pop, seed, workers, progress, triggers_off=deferred.triggers_off))
    finally:
        timings["copy_s"] = time.perf_counter() - t1
        with _connect(database_url) as conn:
            for t in IDENTITY_TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {t}), 1), EXISTS (SELECT 1 FROM {t}))"
                )
            conn.commit()
        t2 = time.perf_counter()
        restore_steps = _restore(database_url, deferred, progress)
        timings["restore_s"] = time.perf_counter() - t2
    elapsed = time.perf_counter() - t0
    groups = np.bincount(pop.group, minlength=len(GROUPS))
    result = {
        "customers": customers,
        "months": month_list,
        "seed": seed,
        "rows": {k: v for k, v in counts.items() if k != "account_managers"},
        "account_managers": counts["account_managers"],
        "planted": {g: int(c) for g, c in zip(GROUPS, groups, strict=True) if g != "normal"},
        "churned": int((pop.status == 2).sum()),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "restore_steps": restore_steps,
        "elapsed_s": round(elapsed, 2),
    }
    total_rows = sum(result["rows"].values())
    progress(f"· loaded {total_rows:,} rows in {elapsed:.1f}s ({total_rows / elapsed:,.0f} rows/s)")
    return result


async def load_city_async(database_url: str, **kwargs: Any) -> dict[str, Any]:
    """`load_city` off the event loop, for async callers."""
    return await asyncio.to_thread(load_city, database_url, **kwargs)
