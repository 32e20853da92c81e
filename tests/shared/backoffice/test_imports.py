"""CSV imports: good rows loaded set-based, bad rows reported by line, re-import changes nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sqlalchemy import text

from shared.backoffice.imports import service as imports
from shared.models import ImportJob
from tests.fixtures.factories import create_product
from tests.fixtures.factories_backoffice import bulk_customers, id_base, staff_principal, write_csv

SAMPLES = Path(__file__).resolve().parents[3] / "infra" / "samples"
USAGE_HEADER = [
    "subscriber_id",
    "bill_month",
    "plan_code",
    "voice_min",
    "data_mb",
    "sms",
    "active_days",
    "plan_fee_fen",
    "bill_fen",
    "balance_end_fen",
]


async def run(sm, principal, kind: str, path: Path, **kw) -> ImportJob:
    async with sm.begin() as s:
        job = await imports.create_job(
            s, kind=kind, filename=path.name, sha256=imports.file_sha256(path), created_by=principal.id
        )
    await imports.run_import(sm, job_id=job.id, path=path, principal=principal, **kw)
    async with sm() as s:
        return await imports.get_job(s, job.id)


async def checksum(sm, sql: str, **params) -> str:
    async with sm() as s:
        rows = (await s.execute(text(sql), params)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


USAGE_SUM = "SELECT * FROM monthly_usage WHERE customer_id BETWEEN :lo AND :hi ORDER BY customer_id, month"


class TestUsage:
    async def test_load_then_reimport_is_a_noop(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        async with sm.begin() as s:
            ids = await bulk_customers(s, 300)
            plan = await create_product(s, kind="plan")
        rows = [
            [cid, m, "" if cid % 2 else plan.code, cid % 700, 1000 + cid % 9000, 3, 20, 5800, 5800 + cid % 4000, -12]
            for cid in ids
            for m in ("2031-01", "203102")
        ]
        path = write_csv(tmp_path / "usage.csv", USAGE_HEADER, rows)
        job = await run(sm, admin, "usage", path, chunk_rows=97)
        assert (job.status, job.rows_total, job.rows_ok, job.rows_bad, job.rows_changed) == ("done", 600, 600, 0, 600)
        before = await checksum(sm, USAGE_SUM, lo=ids[0], hi=ids[-1])
        async with sm() as s:
            assert await s.scalar(text("SELECT to_regclass('monthly_usage_203102') IS NOT NULL"))
            n_plan = await s.scalar(text("SELECT count(*) FROM monthly_usage WHERE plan_id = :p"), {"p": plan.id})
        assert n_plan == 300

        again = await run(sm, admin, "usage", shutil.copy(path, tmp_path / "usage-again.csv"))
        assert (again.status, again.rows_ok, again.rows_changed) == ("done", 600, 0)
        assert again.sha256 == job.sha256
        async with sm() as s:
            assert await imports.same_file_as(s, again) == job.id
        assert await checksum(sm, USAGE_SUM, lo=ids[0], hi=ids[-1]) == before

    async def test_bad_rows_reported_with_line_numbers(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        async with sm.begin() as s:
            ids = await bulk_customers(s, 3)
        good = [ids[0], "2031-03", "", 1, 2, 3, 4, 5, 6, 7]
        rows = [
            good,  # line 2
            [ids[1], "2031-03", "", "12x", 2, 3, 4, 5, 6, 7],  # 3: not a number
            [ids[1], "2031-13", "", 1, 2, 3, 4, 5, 6, 7],  # 4: bad month
            [id_base() + 99_999, "2031-03", "", 1, 2, 3, 4, 5, 6, 7],  # 5: unknown subscriber
            [ids[2], "2031-03"],  # 6: too few fields
            good,  # 7: duplicate of line 2
            [ids[2], "2031-03", "NOPE", 1, 2, 3, 4, 5, 6, 7],  # 8: unknown plan
            [ids[2], "2031-03", "", 1, 2, 3, 99, 5, 6, 7],  # 9: active_days > 31
            [ids[2], "2031-03", "", 1, 2, 3, 4, 5, 6, "1e3"],  # 10: balance not a whole number
            [ids[1], "2031-03", "", 1, 2, 3, 4, 5, 6, "-7"],  # 11: good
        ]
        job = await run(sm, admin, "usage", write_csv(tmp_path / "u.csv", USAGE_HEADER, rows))
        assert (job.status, job.rows_total, job.rows_ok, job.rows_bad, job.rows_changed) == ("done", 10, 2, 8, 2)
        reasons = {e["line"]: e["reason"] for e in job.errors}
        assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
        assert "voice_min" in reasons[3] and "bill_month" in reasons[4]
        assert "unknown subscriber_id" in reasons[5] and "expected 10 fields" in reasons[6]
        assert reasons[7] == "same key as line 2" and "unknown plan_code NOPE" in reasons[8]
        assert "active_days" in reasons[9] and "balance_end_fen" in reasons[10]

    async def test_bills_update_fee_columns_only(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        async with sm.begin() as s:
            ids = await bulk_customers(s, 2)
        await run(
            sm,
            admin,
            "usage",
            write_csv(
                tmp_path / "u.csv", USAGE_HEADER, [[c, "2031-04", "", 100, 200, 3, 10, 5800, 5800, 0] for c in ids]
            ),
        )
        job = await run(
            sm,
            admin,
            "bills",
            write_csv(
                tmp_path / "b.csv",
                ["subscriber_id", "bill_month", "bill_fen", "roaming_fen"],
                [[ids[0], "2031-04", 9900, 4100], [ids[1], "2031-04", 5800, 0]],
            ),
        )
        assert (job.rows_ok, job.rows_changed) == (2, 1)
        async with sm() as s:
            row = (
                await s.execute(
                    text(
                        "SELECT voice_min, data_mb, bill_fen, roaming_fen, plan_fee_fen FROM monthly_usage "
                        "WHERE customer_id = :c"
                    ),
                    {"c": ids[0]},
                )
            ).one()
        assert tuple(row) == (100, 200, 9900, 4100, 5800)


class TestDailyUsage:
    async def test_daily_rows_load_upsert_and_keep_absent_columns(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        async with sm.begin() as s:
            ids = await bulk_customers(s, 2)
        header = ["subscriber_id", "usage_date", "voice_min", "data_mb", "roaming_fen"]
        rows = [[c, f"2031-05-{d:02d}", 10 + d, 300, 0] for c in ids for d in (1, 2, 3)]
        rows.append([ids[0], "2031-05-32", 1, 1, 0])  # not a date
        job = await run(sm, admin, "daily_usage", write_csv(tmp_path / "d.csv", header, rows))
        assert (job.status, job.rows_ok, job.rows_bad, job.rows_changed) == ("done", 6, 1, 6)
        assert "usage_date" in job.errors[0]["reason"]
        # a re-import of one day with roaming now: that row changes, the others stay as they are
        again = await run(
            sm,
            admin,
            "daily_usage",
            write_csv(
                tmp_path / "d2.csv",
                ["subscriber_id", "usage_date", "voice_min", "data_mb", "roaming_fen"],
                [[ids[0], "2031-05-02", 12, 300, 900], [ids[1], "2031-05-02", 12, 300, 0]],
            ),
        )
        assert (again.rows_ok, again.rows_changed) == (2, 1)
        async with sm() as s:
            got = (
                await s.execute(
                    text(
                        "SELECT day, voice_min, data_mb, sms, roaming_fen, payg_data_fen FROM daily_usage "
                        "WHERE customer_id = :c ORDER BY day"
                    ),
                    {"c": ids[0]},
                )
            ).all()
        assert [tuple(r)[1:] for r in got] == [(11, 300, 0, 0, 0), (12, 300, 0, 900, 0), (13, 300, 0, 0, 0)]


class TestHeaderAndFile:
    async def test_unknown_or_missing_columns_fail_the_file(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        job = await run(
            sm,
            admin,
            "usage",
            write_csv(tmp_path / "a.csv", ["subscriber_id", "bill_month", "voice"], [[1, "2031-01", 3]]),
        )
        assert (
            job.status == "failed"
            and job.errors[0]["line"] == 1
            and "unknown column(s): voice" in job.errors[0]["reason"]
        )
        job = await run(
            sm, admin, "bills", write_csv(tmp_path / "b.csv", ["subscriber_id", "bill_month"], [[1, "2031-01"]])
        )
        assert job.status == "failed" and "missing required column(s): bill_fen" in job.errors[0]["reason"]
        empty = tmp_path / "e.csv"
        empty.write_text("")
        assert (await run(sm, admin, "handsets", empty)).status == "failed"

    async def test_gb18030_file(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        base = id_base()
        path = tmp_path / "s.csv"
        path.write_bytes(
            (f"subscriber_id,msisdn,name,join_date\n{base + 1},137{base % 10**8 + 1:08d},王小明,2019-05-01\n").encode(
                "gb18030"
            )
        )
        assert (await run(sm, admin, "subscribers", path)).status == "failed"  # read as UTF-8: refused
        job = await run(sm, admin, "subscribers", path, encoding="gb18030")
        assert (job.status, job.rows_changed) == ("done", 1)
        async with sm() as s:
            assert await s.scalar(text("SELECT name FROM customers WHERE id = :i"), {"i": base + 1}) == "王小明"


class TestOtherKinds:
    async def test_samples_load_and_reload_without_change(self, sm) -> None:
        """The shipped samples (README walk-through) load cleanly, and loading them again changes nothing."""
        admin = await staff_principal(sm)
        async with sm.begin() as s:  # the demo data's codes the samples refer to
            for code in ("BR-01", "BR-02", "BR-03"):
                await s.execute(
                    text(
                        "INSERT INTO org_units (kind, code, name) VALUES ('branch', :c, :c) "
                        "ON CONFLICT (code) DO NOTHING"
                    ),
                    {"c": code},
                )
            for code in ("PLAN-058", "PLAN-088", "PLAN-128", "PLAN-188"):
                await s.execute(
                    text(
                        "INSERT INTO products (code, name, kind) VALUES (:c, :c, 'plan') ON CONFLICT (code) DO NOTHING"
                    ),
                    {"c": code},
                )
        tables = {
            "subscribers": "SELECT id, phone, name, id_number, birthday, join_date, status, churned_on, contract_end, "
            "do_not_disturb, address, updated_at FROM customers WHERE id BETWEEN 990001 AND 990012 ORDER BY id",
            "usage": "SELECT * FROM monthly_usage WHERE customer_id BETWEEN 990001 AND 990012 ORDER BY 1, 2",
            "daily_usage": "SELECT * FROM daily_usage WHERE customer_id BETWEEN 990001 AND 990012 ORDER BY 1, 2",
            "bills": "SELECT * FROM monthly_usage WHERE customer_id BETWEEN 990001 AND 990012 ORDER BY 1, 2",
            "handsets": "SELECT customer_id, brand, model, price_band, dual_sim, started_on FROM handsets "
            "WHERE customer_id BETWEEN 990001 AND 990012 ORDER BY 1, 6",
            "complaints": "SELECT customer_id, occurred_at, category, channel, resolved, satisfaction FROM complaints "
            "WHERE customer_id BETWEEN 990001 AND 990012 ORDER BY 1, 2",
        }
        for kind in ("subscribers", "usage", "daily_usage", "bills", "handsets", "complaints"):
            first = await run(sm, admin, kind, SAMPLES / f"{kind}.csv")
            assert (first.status, first.rows_bad) == ("done", 0), (kind, first.errors)
            snapshot = await checksum(sm, tables[kind])
            second = await run(sm, admin, kind, SAMPLES / f"{kind}.csv")
            assert (second.status, second.rows_changed, second.rows_ok) == ("done", 0, first.rows_ok), kind
            assert await checksum(sm, tables[kind]) == snapshot, kind
        errs = await run(sm, admin, "usage", SAMPLES / "usage_with_errors.csv")
        assert sorted(e["line"] for e in errs.errors) == [3, 4, 5, 6, 7]

    async def test_subscriber_phone_conflicts_and_updates(self, sm, tmp_path) -> None:
        admin = await staff_principal(sm)
        async with sm.begin() as s:
            ids = await bulk_customers(s, 2)
            taken = await s.scalar(text("SELECT phone FROM customers WHERE id = :i"), {"i": ids[0]})
        header = ["subscriber_id", "msisdn", "name", "join_date", "do_not_disturb"]
        base = id_base()
        job = await run(
            sm,
            admin,
            "subscribers",
            write_csv(
                tmp_path / "s.csv",
                header,
                [
                    [base + 1, taken, "甲", "2020-01-01", 0],  # 2: phone of another subscriber
                    [ids[1], f"136{base % 10**8 + 2:08d}", "改名", "2020-01-01", "Y"],  # 3: update existing
                    [base + 3, f"136{base % 10**8 + 3:08d}", "新人", "2020-02-30", 0],  # 4: bad date
                ],
            ),
        )
        assert (job.rows_ok, job.rows_bad, job.rows_changed) == (1, 2, 1)
        assert [e["line"] for e in job.errors] == [2, 4]
        async with sm() as s:
            row = (
                await s.execute(
                    text("SELECT name, do_not_disturb, phone_last4 FROM customers WHERE id = :i"), {"i": ids[1]}
                )
            ).one()
        assert row.name == "改名" and row.do_not_disturb is True and row.phone_last4 == f"{base % 10**8 + 2:08d}"[-4:]
