"""(Engine run, own database) A worker SIGKILLed in the middle of a job: the next worker finishes it once, nothing duplicated.

The worker runs as a real process. To kill it provably mid-job (never a race with a fast
machine), the test holds a table lock the job's next write must wait for, kills the worker while
that write waits, then lets go: the dead worker's transaction rolls back, its advisory job lock is
gone with its connection, the sweep of the new worker puts the job back and it runs again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.db.transactions import own_transaction
from shared.engine.runner import create_run, run_nightly
from shared.jobs import queue
from shared.ledger import service as ledger
from tests.fixtures.jobs import WorkerProcess, job_status, wait_for, worker_backends
from tests.shared.engine.conftest import RUN_STAGES, load_city, snapshot

pytestmark = pytest.mark.slow


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


async def test_engine_run_killed_mid_stage_resumes_and_matches_a_clean_run(sm, engine, database_url, tmp_path) -> None:
    city = await load_city(sm, n=400)
    async with own_transaction(sm) as s:
        run_id = await create_run(s, city.run_date, "queued")
        job_id = await queue.defer(
            s, queue.Task.ENGINE, {"run_id": run_id, "run_date": city.run_date.isoformat(), "stages": RUN_STAGES}
        )
    worker = WorkerProcess(database_url, tmp_path, tmp_path / "worker.log")
    async with engine.connect() as blocker:
        await blocker.begin()
        await blocker.execute(text("LOCK TABLE customer_tag_sets IN SHARE MODE"))  # the tags stage waits for it
        try:
            worker.start()

            async def tags_waiting() -> bool:
                async with sm() as s:
                    st = await s.scalar(
                        text("SELECT status FROM engine_run_stages WHERE run_id = :r AND stage = 'tags'"), {"r": run_id}
                    )
                return st == "running" and await _waiting_on_lock(sm, await worker_backends(sm))

            await wait_for(tags_waiting, what="the engine's tags stage to wait", proc=worker)
            pids = await worker_backends(sm)
            worker.kill()
        finally:
            await blocker.rollback()
    await wait_for(lambda: _gone(sm, pids), what="the dead worker's connections to close")
    async with sm() as s:
        killed_at = await s.scalar(text("SELECT now()"))
        assert await s.scalar(text("SELECT status FROM engine_runs WHERE id = :r"), {"r": run_id}) == "running"

    worker.start()
    try:

        async def finished() -> bool:
            return (await job_status(sm, job_id))[0] in ("succeeded", "failed")

        await wait_for(finished, what="the engine job to finish on the new worker", proc=worker)
    finally:
        worker.stop()
    assert await job_status(sm, job_id) == ("succeeded", 2)
    async with sm() as s:
        assert await s.scalar(text("SELECT status FROM engine_runs WHERE id = :r"), {"r": run_id}) == "done"
        stages = {
            r.stage: r
            for r in (
                await s.execute(
                    text("SELECT stage, status, started_at FROM engine_run_stages WHERE run_id = :r"), {"r": run_id}
                )
            ).all()
        }
        verified = await ledger.verify(s)
    assert sorted(stages) == sorted(RUN_STAGES) and {r.status for r in stages.values()} == {"done"}
    assert stages["features"].started_at < killed_at < stages["tags"].started_at  # resumed, not started over
    assert verified["ok"] is True
    recovered = await snapshot(sm, city)
    await run_nightly(engine, run_date=city.run_date, only=RUN_STAGES, chunk=150)  # a clean run changes nothing
    assert await snapshot(sm, city) == recovered
