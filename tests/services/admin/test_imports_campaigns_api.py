"""The README walk-through over HTTP: import a CSV (progress, bad rows, re-import no-op), build a
campaign with a hold-out, launch it, read its report as JSON and CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from shared.clock import TZ as LOCAL_TZ
from tests.fixtures.factories import create_branch
from tests.fixtures.factories_backoffice import bulk_customers, create_strategy, write_csv
from tests.fixtures.jobs import drain

HEADER = ["subscriber_id", "bill_month", "voice_min", "data_mb", "sms", "bill_fen"]


async def upload(client, headers, path: Path, kind: str, **params):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return await client.post(
            "/v1/imports", headers=headers, params={"kind": kind, **params}, files={"file": (path.name, f, "text/csv")}
        )


class TestImportApi:
    async def test_upload_progress_errors_and_noop_reimport(
        self, admin_client, auth, staff, sm, settings, tmp_path
    ) -> None:
        async with sm.begin() as s:
            ids = await bulk_customers(s, 50)
        rows = [[c, "2031-09", 10, 20, 1, 5800] for c in ids] + [[ids[0], "2031-9x", 1, 1, 1, 1]]
        path = write_csv(tmp_path / "usage.csv", HEADER, rows)
        first = await upload(admin_client, auth["analyst"], path, "usage")
        assert first.status_code == 202 and first.headers["location"] == f"/v1/imports/{first.json()['id']}"
        job = first.json()
        assert (job["status"], job["source"]) == ("queued", "file") and job["job_id"]  # queued for the worker
        queued = (await admin_client.get(f"/v1/jobs/{job['job_id']}", headers=auth["analyst"])).json()
        assert (queued["task"], queued["status"], queued["args"]["import_id"]) == ("imports.run", "todo", job["id"])
        await drain(settings)  # the worker runs it
        job = (await admin_client.get(f"/v1/imports/{job['id']}", headers=auth["analyst"])).json()
        ran = (await admin_client.get(f"/v1/jobs/{job['job_id']}", headers=auth["auditor"])).json()
        assert (ran["status"], ran["progress"], ran["detail"]["rows_changed"]) == ("succeeded", 1.0, 50)
        assert job["quality"]["bad_by_reason"] == {"invalid:bill_month": 1}
        assert job["quality"]["months"] == {"2031-09": 50} and job["quality"]["late_months"] == {}
        assert (job["status"], job["rows_total"], job["rows_ok"], job["rows_bad"], job["rows_changed"]) == (
            "done",
            51,
            50,
            1,
            50,
        )
        assert job["errors"] == [{"line": 52, "reason": "bill_month must be YYYY-MM (got '2031-9x')"}]
        errs = await admin_client.get(f"/v1/imports/{job['id']}/errors?format=csv", headers=auth["auditor"])
        assert errs.text.lstrip("\ufeff").splitlines()[:2] == [
            "line,reason",
            "52,bill_month must be YYYY-MM (got '2031-9x')",
        ]
        again = await upload(admin_client, auth["admin"], path, "usage", wait="true")
        assert again.status_code == 200
        assert (again.json()["rows_changed"], again.json()["same_file_as"], again.json()["sha256"]) == (
            0,
            job["id"],
            job["sha256"],
        )
        listed = (await admin_client.get("/v1/imports?kind=usage", headers=auth["auditor"])).json()["items"]
        assert listed[0]["id"] == again.json()["id"] and listed[0]["errors"] == []
        async with sm() as s:
            audited = (
                (
                    await s.execute(
                        text(
                            "SELECT action FROM audit_log WHERE object_kind = 'import' AND object_id = :i ORDER BY id"
                        ),
                        {"i": str(job["id"])},
                    )
                )
                .scalars()
                .all()
            )
        assert audited == ["import.create", "import.finish"]
        assert (await upload(admin_client, auth["strategist"], path, "usage")).status_code == 403
        layouts = (await admin_client.get("/v1/imports/layouts", headers=auth["analyst"])).json()
        assert {x["kind"] for x in layouts} == {
            "subscribers",
            "usage",
            "daily_usage",
            "bills",
            "handsets",
            "complaints",
            "competitor_calls",
            "subscriptions",
            "contacts",
            "topups",
            "plan_changes",
        }

    async def test_bad_requests(self, admin_client, auth, tmp_path) -> None:
        path = write_csv(tmp_path / "x.csv", HEADER, [])
        assert (await upload(admin_client, auth["admin"], path, "pets")).status_code == 422
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        assert (await upload(admin_client, auth["admin"], empty, "usage")).status_code == 400


class TestCampaignApi:
    async def test_build_launch_and_report(self, admin_client, auth, staff, sm, settings) -> None:
        today = datetime.now(LOCAL_TZ).date()
        async with sm.begin() as s:
            branch = await create_branch(s)
            await bulk_customers(s, 200, branch_id=branch.id, tier="gold")
            sid = await create_strategy(s, channel="sms", script="尊敬的客户，您的专属流量包已到账")
        query = {"branch_ids": [branch.id], "tiers": ["gold"]}
        preview = await admin_client.post(
            "/v1/campaigns/preview", headers=auth["analyst"], json={"query": query, "holdout_pct": 20}
        )
        assert preview.json() == {"audience": 200, "expected_holdout": 40}
        body = {
            "name": "金卡客户关怀",
            "query": query,
            "strategy_id": sid,
            "flow": "outbound",
            "channel": "sms",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=30)),
            "holdout_pct": 20,
            "cost_per_touch_fen": 5,
        }
        assert (
            await admin_client.post(
                "/v1/campaigns", headers=auth["strategist"], json={**body, "query": {"tierz": ["gold"]}}
            )
        ).status_code == 422
        assert (await admin_client.post("/v1/campaigns", headers=auth["operator"], json=body)).status_code == 403
        made = await admin_client.post("/v1/campaigns", headers=auth["strategist"], json=body)
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
        assert (await admin_client.post(f"/v1/campaigns/{cid}/launch", headers=auth["strategist"])).status_code == 403
        launched = await admin_client.post(f"/v1/campaigns/{cid}/launch", headers=auth["operator"])
        assert launched.status_code == 200, launched.text
        res = launched.json()
        assert res["members"] == 200 and res["holdout"] + res["treated"] == 200 and res["queued"] == res["treated"]
        assert res["campaign"]["status"] == "running"
        assert (await admin_client.post(f"/v1/campaigns/{cid}/launch", headers=auth["operator"])).status_code == 409
        async with sm() as s:  # the launch queued the sends as a campaigns.dispatch job, nothing sent yet
            jobs = await s.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'campaigns.dispatch' AND args->>'campaign_id' = :c"
                ),
                {"c": str(cid)},
            )
            queued_touches = await s.scalar(
                text("SELECT count(*) FROM touches WHERE campaign_id = :c AND outcome = 'queued'"), {"c": cid}
            )
        assert (jobs, queued_touches) == (1, res["treated"])
        await drain(settings)  # the worker sends them
        async with sm() as s:
            sent_touches = await s.scalar(
                text("SELECT count(*) FROM touches WHERE campaign_id = :c AND outcome = 'sent'"), {"c": cid}
            )
        assert sent_touches == res["treated"]
        again = await admin_client.post(f"/v1/campaigns/{cid}/dispatch", headers=auth["operator"])
        assert again.json() == {"sent": 0, "failed": 0}  # the manual dispatch finds nothing left
        held = (
            await admin_client.get(f"/v1/campaigns/{cid}/members?holdout=true&limit=100", headers=auth["auditor"])
        ).json()
        assert len(held["items"]) == res["holdout"]
        report = await admin_client.get(f"/v1/reports/campaigns/{cid}", headers=auth["analyst"])
        summary = report.json()["summary"]
        assert (summary["treated"], summary["holdout"], summary["touches"], summary["cost_fen"]) == (
            res["treated"],
            res["holdout"],
            res["treated"],
            5 * res["treated"],
        )
        assert summary["retention_uplift"] == 0.0 and report.json()["by_branch"][0]["group"] == str(branch.id)
        csv = await admin_client.get(f"/v1/reports/campaigns?campaign_id={cid}&format=csv", headers=auth["analyst"])
        lines = csv.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("group_by,group,members,treated,holdout") and lines[1].startswith(
            f"campaign,{cid},200,"
        )
        for path in (
            "/v1/reports/touches?group_by=channel",
            "/v1/reports/manager-kpis",
            "/v1/reports/churn-models",
            "/v1/reports/four-high",
        ):
            for fmt in ("json", "csv"):
                r = await admin_client.get(
                    f"{path}{'&' if '?' in path else '?'}format={fmt}", headers=auth["branch_head"]
                )
                assert r.status_code == 200, (path, fmt, r.text)
        finished = await admin_client.post(f"/v1/campaigns/{cid}/finish", headers=auth["operator"])
        assert finished.json()["status"] == "finished"
        async with sm() as s:
            actions = (
                (
                    await s.execute(
                        text(
                            "SELECT action FROM audit_log WHERE object_kind = 'campaign' AND object_id = :i ORDER BY id"
                        ),
                        {"i": str(cid)},
                    )
                )
                .scalars()
                .all()
            )
        assert actions == ["campaign.create", "campaign.launch", "campaign.dispatch", "campaign.finish"]
