"""The migration history builds the whole schema, tears it down, rebuilds it, and matches the models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import shared.models  # noqa: F401
from shared.db.base import Base
from shared.db.embedded import to_sync_url
from shared.db.migrate import MIGRATIONS_DIR, alembic_config, downgrade, heads, upgrade
from tests.fixtures.db import scratch_database


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    with scratch_database(server_url, "tenure_mig", migrate=False) as url:
        yield url


def _tables(url: str) -> set[str]:
    eng = create_engine(to_sync_url(url))
    try:
        return set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/db"))
    assert len(script.get_heads()) == 1
    assert heads() == list(script.get_heads())


def test_heads_sees_a_second_branch(tmp_path: Path) -> None:
    """`dev.py check heads` reads the files only; two revisions on one parent are two heads."""
    copy = shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = heads(copy)
    (copy / "versions" / "9999_branch.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\n\n\ndef upgrade() -> None: ...\n\n\ndef downgrade() -> None: ...\n'
    )
    (copy / "versions" / "9998_other.py").write_text(
        f'revision = "9998"\ndown_revision = "{head}"\n\n\ndef upgrade() -> None: ...\n\n\ndef downgrade() -> None: ...\n'
    )
    assert heads(copy) == ["9998", "9999"]


def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    upgrade(empty_db)
    built = _tables(empty_db)
    assert set(Base.metadata.tables) <= built
    downgrade(empty_db, "base")
    assert _tables(empty_db) <= {"alembic_version"}
    upgrade(empty_db)
    assert _tables(empty_db) == built


def test_models_match_migrations(database_url: str) -> None:
    eng = create_engine(to_sync_url(database_url))
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
    assert diff == []


def test_monthly_usage_is_partitioned(database_url: str) -> None:
    eng = create_engine(to_sync_url(database_url))
    with eng.begin() as conn:
        conn.execute(text("SELECT ensure_usage_partition(DATE '2031-02-01')"))
        parent = conn.scalar(
            text("SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'monthly_usage_203102'::regclass")
        )
        conn.execute(text("DROP TABLE monthly_usage_203102"))
    eng.dispose()
    assert parent == "monthly_usage"


def test_partition_created_after_rows_landed_in_default(database_url: str) -> None:
    """Usage imported before its month's partition exists is moved into it, not refused."""
    eng = create_engine(to_sync_url(database_url))
    with eng.begin() as conn:
        cid = conn.scalar(
            text(
                "INSERT INTO customers (phone, phone_last4, name, join_date) "
                "VALUES ('13700000077', '0077', 'x', DATE '2020-01-01') RETURNING id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO monthly_usage (customer_id, month, voice_min, data_mb, sms, voice_allowance_min, "
                "data_allowance_mb, topup_count, active_days, broadband_gb) VALUES (:c, DATE '2032-03-01', 1, 1, 1, 0, 0, 0, 1, 0)"
            ),
            {"c": cid},
        )
        assert conn.scalar(text("SELECT count(*) FROM monthly_usage_default WHERE month = DATE '2032-03-01'")) == 1
        conn.execute(text("SELECT ensure_usage_partition(DATE '2032-03-17')"))
        assert conn.scalar(text("SELECT count(*) FROM monthly_usage_default WHERE month = DATE '2032-03-01'")) == 0
        assert conn.scalar(text("SELECT count(*) FROM monthly_usage_203203 WHERE customer_id = :c"), {"c": cid}) == 1
        conn.execute(text("SELECT ensure_usage_partition(DATE '2032-03-01')"))  # idempotent
    eng.dispose()


def test_tag_rows_carried_into_tag_sets_and_back(empty_db: str) -> None:
    """0002 folds per-(customer, tag) rows into one sorted array per customer; its downgrade unfolds them."""
    upgrade(empty_db, "0001")
    eng = create_engine(to_sync_url(empty_db))
    try:
        with eng.begin() as conn:
            cid = conn.scalar(
                text(
                    "INSERT INTO customers (phone, phone_last4, name, join_date) "
                    "VALUES ('13700000078', '0078', 'x', DATE '2020-01-01') RETURNING id"
                )
            )
            tags = [
                conn.scalar(
                    text(
                        "INSERT INTO tag_definitions (code, name, family, rule, builtin, active, version) "
                        "VALUES (:c, :c, 'basic', '{}', false, true, 1) RETURNING id"
                    ),
                    {"c": f"mig_{k}"},
                )
                for k in range(3)
            ]
            conn.execute(
                text("INSERT INTO customer_tags (customer_id, tag_id) VALUES (:c, :b), (:c, :a)"),
                {"c": cid, "a": tags[0], "b": tags[2]},
            )
        upgrade(empty_db, "0002")
        with eng.connect() as conn:
            assert conn.scalar(text("SELECT tag_ids FROM customer_tag_sets WHERE customer_id = :c"), {"c": cid}) == [
                tags[0],
                tags[2],
            ]
            counts = dict(conn.execute(text("SELECT id, customers FROM tag_definitions")).all())
            assert counts == {tags[0]: 1, tags[1]: 0, tags[2]: 1}
        downgrade(empty_db, "0001")
        with eng.connect() as conn:
            rows = (
                conn.execute(
                    text("SELECT tag_id FROM customer_tags WHERE customer_id = :c ORDER BY tag_id"), {"c": cid}
                )
                .scalars()
                .all()
            )
            assert rows == [tags[0], tags[2]]
    finally:
        eng.dispose()


def test_warning_high_rule_moves_to_the_coefficients_scale(empty_db: str) -> None:
    """0004 rewrites the unedited built-in warning_high rule (>= 0.7 -> >= 70); an edited one stays."""
    upgrade(empty_db, "0003")
    eng = create_engine(to_sync_url(empty_db))
    insert = text(
        "INSERT INTO tag_definitions (code, name, family, rule, builtin, active, version) "
        "VALUES (:code, '预警系数 ≥0.7', 'stability', CAST(:rule AS jsonb), true, true, 1)"
    )
    try:
        with eng.begin() as conn:
            conn.execute(
                insert, {"code": "warning_high", "rule": '{"field": "warning_coefficient", "op": ">=", "value": 0.7}'}
            )
        upgrade(empty_db, "0004")
        rule = "SELECT rule, version FROM tag_definitions WHERE code = 'warning_high'"
        with eng.connect() as conn:
            assert tuple(conn.execute(text(rule)).one()) == (
                {"field": "warning_coefficient", "op": ">=", "value": 70},
                2,
            )
        downgrade(empty_db, "0003")
        with eng.begin() as conn:
            assert conn.execute(text(rule)).one()[0]["value"] == 0.7
            # a rule the back office edited is not the built-in one any more: left alone
            conn.execute(
                text("UPDATE tag_definitions SET rule = CAST(:r AS jsonb) WHERE code = 'warning_high'"),
                {"r": '{"field": "warning_coefficient", "op": ">=", "value": 55}'},
            )
        upgrade(empty_db, "0004")
        with eng.connect() as conn:
            assert conn.execute(text(rule)).one()[0]["value"] == 55
    finally:
        eng.dispose()


def test_coupon_codes_are_hashed_and_sealed_by_the_migration_and_restored_by_its_downgrade(empty_db: str) -> None:
    from shared.alliance import codes

    upgrade(empty_db, "0004")
    eng = create_engine(to_sync_url(empty_db))
    plain = ["ABCDEFGHJKLMNPQRSTUV", "23456789ABCDEFGHJKLM"]
    try:
        with eng.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO merchants (name, category, contact_name, contact_phone, settlement_account, status) "
                    "VALUES ('m', 'food', 'c', '13900000000', '6222', 'approved')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO offers (merchant_id, title, kind, face_value_fen, settlement_fen, price_points, price_airtime_fen,"
                    " stock_total, stock_left, per_customer_limit, valid_from, valid_to, coupon_valid_days, target_tiers,"
                    " target_segments, status) SELECT id, 't', 'voucher', 100, 50, 10, 0, 5, 5, 1, now(), now() + interval '1 day',"
                    " 30, '[]', '[]', 'approved' FROM merchants"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO customers (id, phone, phone_last4, name, join_date) VALUES (1, '13800000001', '0001', 'x', current_date)"
                )
            )
            for i, code in enumerate(plain):
                conn.execute(
                    text(
                        "INSERT INTO coupons (offer_id, merchant_id, customer_id, code, status, paid_points, paid_airtime_fen,"
                        " expires_at, idempotency_key, source) SELECT o.id, o.merchant_id, 1, :code, 'issued', 0, 0,"
                        " now() + interval '1 day', :key, 'campaign' FROM offers o"
                    ),
                    {"code": code, "key": f"k{i}"},
                )
        upgrade(empty_db, "0006a")
        with eng.connect() as conn:
            rows = conn.execute(text("SELECT code_hash, code_sealed FROM coupons ORDER BY id")).all()
            columns = {c["name"] for c in inspect(conn).get_columns("coupons")}
        assert "code" not in columns
        assert [r.code_hash for r in rows] == [codes.lookup_hash(c) for c in plain]
        assert [codes.unseal(r.code_sealed) for r in rows] == plain
        assert all(c.encode() not in bytes(r.code_sealed) for r, c in zip(rows, plain, strict=True))
        downgrade(empty_db, "0004")
        with eng.connect() as conn:
            assert conn.execute(text("SELECT code FROM coupons ORDER BY id")).scalars().all() == plain
    finally:
        eng.dispose()
