"""Back office: the job queue (list, detail, retry), schedules (local-time cron, edit, pause), feeds API."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import text

from shared.clock import TZ
from shared.db.transactions import own_transaction
from shared.jobs import queue, schedules
from tests.fixtures.factories_backoffice import bulk_customers
from tests.fixtures.jobs import drain


class TestQueue:
    async def test_failed_job_shows_its_error_and_retries_once(self, admin_client, auth, sm, settings) -> None:
        async with own_transaction(sm) as s:  # an accrual month that cannot be parsed fails for good
            job_id = await queue.defer(s, queue.Task.POINTS_ACCRUE, {"month": "2026-13"})
        await drain(settings)
        job = (await admin_client.get(f"/v1/jobs/{job_id}", headers=auth["operator"])).json()
        assert (job["status"], job["can_retry"], job["attempts"]) == ("failed", True, 1)
        assert "month must be" in job["last_error"]
        listed = (await admin_client.get("/v1/jobs?status=failed&task=points.accrue", headers=auth["auditor"])).json()
        assert [j["id"] for j in listed["items"]] == [job_id]
        assert (await admin_client.post(f"/v1/jobs/{job_id}/retry", headers=auth["auditor"])).status_code == 403
        # two operators press retry at once: one job goes back in the queue, the other is told it is not failed
        both = await asyncio.gather(
            *(admin_client.post(f"/v1/jobs/{job_id}/retry", headers=auth["operator"]) for _ in range(2))
        )
        assert sorted(r.status_code for r in both) == [200, 409]
        assert [r.json() for r in both if r.status_code == 409][0]["error"] == "conflict"
        assert (await admin_client.get(f"/v1/jobs/{job_id}", headers=auth["operator"])).json()["status"] == "todo"
        assert (await admin_client.get("/v1/jobs/999999", headers=auth["operator"])).status_code == 404

    async def test_queueing_lock_refuses_a_second_waiting_job(self, sm) -> None:
        async with own_transaction(sm) as s:
            await queue.defer(s, queue.Task.REBATES, {}, queueing_lock="only-one")
            try:
                await queue.defer(s, queue.Task.REBATES, {}, queueing_lock="only-one")
                raise AssertionError("a second waiting job was queued")
            except queue.AlreadyQueued:
                pass
            assert await s.scalar(text("SELECT 1"))  # the caller's transaction is still usable


class TestSchedules:
    async def test_cron_fires_in_local_time_once_per_slot(self, sm) -> None:
        async with own_transaction(sm) as s:
            # an earlier test's worker ran the real-clock tick, which may have fired this schedule
            # already (when a 02:00 Shanghai slot passed since the template was built): look only
            # at jobs queued from here on, with none of those still waiting to block the lock
            first_new = await s.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM procrastinate_jobs"))
            await s.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'cancelled' WHERE queueing_lock = 'schedule:engine.nightly' AND status = 'todo'"
                )
            )
            await s.execute(
                text(
                    "UPDATE job_schedules SET enabled = (name = 'engine.nightly'), last_fired_at = NULL, "
                    "updated_at = :t"
                ),
                {"t": datetime(2026, 11, 30, 12, 0, tzinfo=TZ)},
            )
        before = datetime(2026, 12, 1, 1, 59, tzinfo=TZ)
        assert await schedules.fire_due(sm, now=before) == []  # 01:59 Shanghai: not yet
        at_two = datetime(2026, 12, 1, 2, 0, 30, tzinfo=TZ)  # 18:00 UTC the day before
        fired = await asyncio.gather(schedules.fire_due(sm, now=at_two), schedules.fire_due(sm, now=at_two))
        assert sorted(fired) == [[], ["engine.nightly"]]  # two workers' ticks: one fires
        async with sm() as s:
            jobs = (
                await s.execute(
                    text(
                        "SELECT task_name, status::text FROM procrastinate_jobs "
                        "WHERE queueing_lock = 'schedule:engine.nightly' AND id >= :first_new"
                    ),
                    {"first_new": first_new},
                )
            ).all()
            last = await s.scalar(text("SELECT last_fired_at FROM job_schedules WHERE name = 'engine.nightly'"))
        assert [tuple(j) for j in jobs] == [("engine.run", "todo")]
        assert last == datetime(2026, 12, 1, 2, 0, tzinfo=TZ)
        assert await schedules.fire_due(sm, now=datetime(2026, 12, 1, 2, 30, tzinfo=TZ)) == []  # same slot

    async def test_edit_and_pause_a_schedule(self, admin_client, auth) -> None:
        h = auth["operator"]
        listed = {r["name"]: r for r in (await admin_client.get("/v1/jobs/schedules", headers=auth["auditor"])).json()}
        assert listed["campaigns.launch_due"]["cron"] == "* * * * *"
        assert listed["engine.nightly"]["timezone"] == "Asia/Shanghai"
        r = await admin_client.put("/v1/jobs/schedules/engine.nightly", json={"cron": "30 3 * * *"}, headers=h)
        assert r.status_code == 200 and r.json()["cron"] == "30 3 * * *"
        assert r.json()["next_at"].endswith("03:30:00+08:00")
        bad = await admin_client.put("/v1/jobs/schedules/engine.nightly", json={"cron": "61 * * * *"}, headers=h)
        assert bad.status_code == 422 and bad.json()["error"] == "unprocessable"
        assert (
            await admin_client.put("/v1/jobs/schedules/nope", json={"enabled": False}, headers=h)
        ).status_code == 404
        assert (
            await admin_client.put(
                "/v1/jobs/schedules/engine.nightly", json={"enabled": False}, headers=auth["analyst"]
            )
        ).status_code == 403
        paused = await admin_client.put("/v1/jobs/schedules/engine.nightly", json={"enabled": False}, headers=h)
        assert (paused.json()["enabled"], paused.json()["next_at"]) == (False, None)


class TestFeedsApi:
    async def test_push_twice_changes_nothing_the_second_time(self, admin_client, auth, sm) -> None:
        async with sm.begin() as s:
            ids = await bulk_customers(s, 3)
        rows = [
            {
                "record_id": f"CC-API-{c}",
                "subscriber_id": c,
                "called_at": "2026-10-03 10:15:00",
                "competitor": "CU",
                "duration_s": 60,
            }
            for c in ids
        ]
        rows.append(
            {
                "record_id": "CC-API-bad",
                "subscriber_id": ids[0],
                "called_at": "soon",
                "competitor": "CU",
                "duration_s": 5,
            }
        )
        first = await admin_client.post("/v1/feeds/competitor_calls", json={"rows": rows}, headers=auth["analyst"])
        assert first.status_code == 200, first.text
        body = first.json()
        assert (body["status"], body["source"], body["rows_ok"], body["rows_bad"], body["rows_changed"]) == (
            "done",
            "api",
            3,
            1,
            3,
        )
        assert body["quality"]["bad_by_reason"] == {"invalid:called_at": 1}
        again = (
            await admin_client.post("/v1/feeds/competitor_calls", json={"rows": rows}, headers=auth["analyst"])
        ).json()
        assert (again["rows_changed"], again["quality"]["unchanged"]) == (0, 3)
        async with sm() as s:
            assert (
                await s.scalar(text("SELECT count(*) FROM competitor_calls WHERE customer_id = ANY(:i)"), {"i": ids})
                == 3
            )

    async def test_refusals(self, admin_client, auth) -> None:
        h = auth["analyst"]
        typo = await admin_client.post("/v1/feeds/contacts", json={"rows": [{"record_idd": "x"}]}, headers=h)
        assert typo.status_code == 422 and "unknown column" in typo.json()["detail"]
        big = await admin_client.post("/v1/feeds/topups", json={"rows": [{"record_id": "x"}] * 10_001}, headers=h)
        assert big.status_code == 422
        assert (await admin_client.post("/v1/feeds/pets", json={"rows": [{}]}, headers=h)).status_code == 422
        assert (
            await admin_client.post("/v1/feeds/topups", json={"rows": [{"record_id": "x"}]}, headers=auth["strategist"])
        ).status_code == 403
