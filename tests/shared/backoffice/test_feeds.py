"""Feed kinds (competitor-hotline calls, subscriptions, contacts, top-ups, plan changes): each
sample loads cleanly, loading it again changes nothing, bad rows are reported by line and reason,
and the facts land where the engine reads them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.backoffice.imports import service as imports
from shared.backoffice.imports.layouts import FEED_KINDS
from tests.fixtures.factories_backoffice import staff_principal, write_csv

SAMPLES = Path(__file__).resolve().parents[3] / "infra" / "samples"
TABLES = {
    "competitor_calls": "SELECT source_ref, customer_id, called_at, competitor, duration_s FROM competitor_calls "
    "WHERE source_ref IS NOT NULL ORDER BY 1",
    "subscriptions": "SELECT idempotency_key, customer_id, product_id, status, starts_on, ends_on, cancelled_at, channel, "
    "charge_fen FROM subscriptions WHERE idempotency_key LIKE 'feed:%' ORDER BY 1",
    "contacts": "SELECT idempotency_key, customer_id, channel, occurred_at, outcome, notes, cost_fen FROM touches "
    "WHERE idempotency_key LIKE 'feed:%' ORDER BY 1",
    "topups": "SELECT t.source_ref, t.customer_id, t.paid_at, t.amount_fen, t.kind, u.topup_fen, u.topup_count "
    "FROM topups t LEFT JOIN monthly_usage u ON u.customer_id = t.customer_id AND u.month = DATE '2026-10-01' "
    "ORDER BY 1",
    "plan_changes": "SELECT pc.source_ref, pc.customer_id, pc.to_plan_id, c.plan_id FROM plan_changes pc "
    "JOIN customers c ON c.id = pc.customer_id ORDER BY 1",
}


async def run(sm, principal, kind: str, path: Path):  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        job = await imports.create_job(
            s, kind=kind, filename=path.name, sha256=imports.file_sha256(path), created_by=principal.id
        )
    await imports.run_import(sm, job_id=job.id, path=path, principal=principal)
    async with sm() as s:
        return await imports.get_job(s, job.id)


async def checksum(sm, sql: str) -> str:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return hashlib.sha256(repr((await s.execute(text(sql))).all()).encode()).hexdigest()


@pytest.fixture(scope="module")
async def city(sm):  # type: ignore[no-untyped-def]
    """The sample subscribers and usage, and the demo codes the samples refer to."""
    admin = await staff_principal(sm)
    async with sm.begin() as s:
        for code in ("BR-01", "BR-02", "BR-03"):
            await s.execute(
                text(
                    "INSERT INTO org_units (kind, code, name) VALUES ('branch', :c, :c) ON CONFLICT (code) DO NOTHING"
                ),
                {"c": code},
            )
        for code, kind in (
            ("PLAN-058", "plan"),
            ("PLAN-088", "plan"),
            ("PLAN-128", "plan"),
            ("PLAN-188", "plan"),
            ("DATA-5G-30", "data_pack"),
            ("DATA-1G", "data_pack"),
            ("BB-300M", "broadband"),
        ):
            await s.execute(
                text("INSERT INTO products (code, name, kind) VALUES (:c, :c, :k) ON CONFLICT (code) DO NOTHING"),
                {"c": code, "k": kind},
            )
    for kind in ("subscribers", "usage"):
        assert (await run(sm, admin, kind, SAMPLES / f"{kind}.csv")).status == "done"
    return admin


@pytest.mark.parametrize("kind", FEED_KINDS)
async def test_sample_loads_and_reloads_without_change(sm, city, kind: str) -> None:
    first = await run(sm, city, kind, SAMPLES / f"{kind}.csv")
    assert (first.status, first.rows_bad) == ("done", 0), first.errors
    assert first.rows_changed == first.rows_ok > 0
    assert first.quality["rows"] == first.rows_total and first.quality["bad_by_reason"] == {}
    before = await checksum(sm, TABLES[kind])
    again = await run(sm, city, kind, SAMPLES / f"{kind}.csv")
    assert (again.status, again.rows_changed, again.rows_ok) == ("done", 0, first.rows_ok)
    assert again.quality["unchanged"] == first.rows_ok
    assert await checksum(sm, TABLES[kind]) == before


BAD_ROWS = {
    "competitor_calls": (
        ["record_id", "subscriber_id", "called_at", "competitor"],
        ["CC-X-1", "990011", "yesterday", "CU"],
        "called_at must be a date-time",
    ),
    "subscriptions": (
        ["record_id", "subscriber_id", "product_code", "starts_on"],
        ["ORD-X-1", "990011", "NO-SUCH-PACK", "2026-10-01"],
        "unknown product_code NO-SUCH-PACK",
    ),
    "contacts": (
        ["record_id", "subscriber_id", "channel", "occurred_at", "outcome"],
        ["C-X-1", "990011", "fax", "2026-10-01 10:00:00", "sent"],
        "channel must be one of",
    ),
    "topups": (
        ["record_id", "subscriber_id", "paid_at", "amount_fen"],
        ["TP-X-1", "990011", "2026-10-01 10:00:00", "-50"],
        "amount_fen must be a whole number",
    ),
    "plan_changes": (
        ["record_id", "subscriber_id", "changed_at", "to_plan_code"],
        ["PC-X-1", "990011", "2026-10-01 10:00:00", "DATA-1G"],
        "unknown to_plan_code DATA-1G",
    ),
}


@pytest.mark.parametrize("kind", FEED_KINDS)
async def test_bad_row_reported_good_row_loaded(sm, city, kind: str, tmp_path) -> None:
    header, bad, reason = BAD_ROWS[kind]
    good = list(bad)
    good[0] = good[0].replace("X-1", "X-2")
    good[2:] = {
        "competitor_calls": ["2026-10-01 10:00:00", "CU"],
        "subscriptions": ["DATA-1G", "2026-10-01"],
        "contacts": ["hall", "2026-10-01 10:00:00", "accepted_offer"],
        "topups": ["2026-10-01 10:00:00", "500"],
        "plan_changes": ["2026-10-01 10:00:00", "PLAN-188"],
    }[kind]
    unknown = list(good)
    unknown[0], unknown[1] = good[0].replace("X-2", "X-3"), "999999999"
    job = await run(sm, city, kind, write_csv(tmp_path / f"{kind}.csv", header, [bad, good, unknown, good]))
    assert (job.status, job.rows_total, job.rows_bad, job.rows_changed) == ("done", 4, 3, 1)
    by_line = {e["line"]: e["reason"] for e in job.errors}
    assert by_line[2].startswith(reason), by_line
    assert by_line[4] == "unknown subscriber_id 999999999"
    assert by_line[5] == "same key as line 3"
    assert job.quality["duplicates"] == 1 and job.quality["bad_by_reason"]["unknown_subscriber"] == 1


async def test_facts_land_where_the_engine_reads_them(sm, city, tmp_path) -> None:
    for kind in ("topups", "plan_changes", "subscriptions"):
        await run(sm, city, kind, SAMPLES / f"{kind}.csv")
    async with sm() as s:
        fen, n = (
            await s.execute(
                text(
                    "SELECT topup_fen, topup_count FROM monthly_usage WHERE customer_id = 990001 AND month = DATE '2026-10-01'"
                )
            )
        ).one()
        plan = await s.scalar(
            text("SELECT p.code FROM customers c JOIN products p ON p.id = c.plan_id WHERE c.id = 990001")
        )
    assert (fen, n) == (8000, 2)  # the two October top-ups of the sample
    assert plan == "PLAN-128"  # the latest plan change
    # a cancellation from billing updates the same subscription, it adds none
    cancel = write_csv(
        tmp_path / "cancel.csv",
        ["record_id", "subscriber_id", "product_code", "status", "starts_on", "cancelled_at"],
        [["ORD-778001", "990001", "DATA-5G-30", "cancelled", "2026-10-01", "2026-10-20 10:00:00"]],
    )
    job = await run(sm, city, "subscriptions", cancel)
    assert (job.status, job.rows_changed) == ("done", 1)
    async with sm() as s:
        rows = (
            await s.execute(text("SELECT status FROM subscriptions WHERE idempotency_key = 'feed:ORD-778001'"))
        ).all()
    assert [r[0] for r in rows] == ["cancelled"]


async def test_late_months_reported(sm, city, tmp_path) -> None:
    rows = [
        ["TP-LATE-1", "990003", "2026-08-10 10:00:00", "100"],
        ["TP-LATE-2", "990003", "2026-10-10 10:00:00", "100"],
    ]
    job = await run(
        sm,
        city,
        "topups",
        write_csv(tmp_path / "late.csv", ["record_id", "subscriber_id", "paid_at", "amount_fen"], rows),
    )
    assert job.quality["months"] == {"2026-08": 1, "2026-10": 1}
    assert job.quality["late_months"] == {"2026-08": 1}  # October top-ups were already loaded
