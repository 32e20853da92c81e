"""A worker SIGKILLed in the middle of a job: the next worker finishes it once, nothing duplicated.

The worker runs as a real process. To kill it provably mid-job (never a race with a fast
machine), the test holds a table lock the job's next write must wait for, kills the worker while
that write waits, then lets go: the dead worker's transaction rolls back, its advisory job lock is
gone with its connection, the sweep of the new worker puts the job back and it runs again.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.backoffice.imports import service as imports
from shared.db.transactions import own_transaction
from shared.jobs import queue
from shared.ledger import service as ledger
from tests.fixtures.factories_backoffice import bulk_customers, staff_principal
from tests.fixtures.jobs import WorkerProcess, job_status, wait_for, worker_backends

pytestmark = pytest.mark.slow

MONTHS = ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08"]
CUSTOMERS = 20_000  # × 5 months = 100,000 good rows
BAD = 40


def _usage_file(path: Path, ids: list[int]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["subscriber_id", "bill_month", "voice_min", "data_mb", "sms", "bill_fen"])
        for m in MONTHS:
            for cid in ids:
                w.writerow([cid, m, cid % 500, cid % 9000, cid % 40, 3000 + cid % 7000])
        for i in range(BAD):
            w.writerow([ids[i], "2026-13", 1, 1, 1, 1])  # bad month: reported, not loaded
    return path


async def _waiting_on_lock(sm, pids: set[int]) -> bool:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return bool(
            await s.scalar(
                text("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY(:p) AND wait_event_type = 'Lock')"),
                {"p": list(pids)},
            )
        )


async def _gone(sm, pids: set[int]) -> bool:  # type: ignore[no-untyped-def]
    return not (pids & await worker_backends(sm))


async def test_import_killed_mid_load_finishes_once(sm, engine, database_url, tmp_path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    async with sm.begin() as s:
        ids = await bulk_customers(s, CUSTOMERS)
    admin = await staff_principal(sm)
    path = _usage_file(spool / "usage.csv", ids)
    async with own_transaction(sm) as s:
        job = await imports.create_job(
            s, kind="usage", filename="usage.csv", sha256=imports.file_sha256(path), created_by=admin.id
        )
        import_id = job.id
        job_id = await queue.defer(
            s,
            queue.Task.IMPORT,
            {"import_id": import_id, "path": str(path), "staff_id": admin.id, "chunk_rows": 10_000},
        )
    worker = WorkerProcess(database_url, spool, tmp_path / "worker.log")
    async with engine.connect() as blocker:
        await blocker.begin()
        await blocker.execute(text("LOCK TABLE monthly_usage IN SHARE MODE"))  # the merge's INSERT waits for it
        try:
            worker.start()

            async def loaded_and_waiting() -> bool:
                async with sm() as s:
                    st = await s.scalar(text("SELECT status FROM import_jobs WHERE id = :i"), {"i": import_id})
                return st == "loading" and await _waiting_on_lock(sm, await worker_backends(sm))

            await wait_for(loaded_and_waiting, what="the import to wait in its merge", proc=worker)
            pids = await worker_backends(sm)
            worker.kill()
        finally:
            await blocker.rollback()
    await wait_for(lambda: _gone(sm, pids), what="the dead worker's connections to close")
    async with sm() as s:
        assert (
            await s.scalar(text("SELECT count(*) FROM monthly_usage WHERE customer_id = ANY(:ids)"), {"ids": ids}) == 0
        )  # the killed load committed nothing
        assert await s.scalar(text("SELECT status FROM import_jobs WHERE id = :i"), {"i": import_id}) == "loading"
    assert (await job_status(sm, job_id))[0] == "doing"  # stuck as the dead worker left it

    worker.start()
    try:

        async def finished() -> bool:
            return (await job_status(sm, job_id))[0] in ("succeeded", "failed")

        await wait_for(finished, what="the import job to finish on the new worker", proc=worker)
    finally:
        worker.stop()
    status, attempts = await job_status(sm, job_id)
    assert (status, attempts) == ("succeeded", 2)  # the killed attempt and the one that finished
    async with sm() as s:
        done = await imports.get_job(s, import_id)
        loaded = await s.scalar(text("SELECT count(*) FROM monthly_usage WHERE customer_id = ANY(:ids)"), {"ids": ids})
        progress = (
            await s.execute(text("SELECT progress, attempts FROM job_progress WHERE job_id = :j"), {"j": job_id})
        ).one()
        verified = await ledger.verify(s)
    # the same counts as an uninterrupted load of this file
    assert (done.status, done.rows_total, done.rows_bad, done.rows_ok, done.rows_changed) == (
        "done",
        CUSTOMERS * len(MONTHS) + BAD,
        BAD,
        CUSTOMERS * len(MONTHS),
        CUSTOMERS * len(MONTHS),
    )
    assert loaded == CUSTOMERS * len(MONTHS)
    assert done.quality["bad_by_reason"] == {"invalid:bill_month": BAD}
    assert (progress.progress, progress.attempts) == (1.0, 2)
    assert verified["ok"] is True
    assert not path.exists()  # the spool file goes once the import ended
