"""Back-office model endpoints: roles, training on the job queue, compare, activate with an audit row."""

from __future__ import annotations

from sqlalchemy import text

from tests.fixtures.factories import create_staff
from tests.fixtures.jobs import drain


async def test_models_endpoints(admin_client, tokens, sm, city, settings) -> None:
    async with sm.begin() as s:  # real accounts: staff tokens are checked against them
        staff = {role: await create_staff(s, role=role) for role in ("analyst", "operator")}
    analyst, operator = tokens.admin(staff["analyst"].id, "analyst"), tokens.admin(staff["operator"].id, "operator")
    assert (await admin_client.get("/v1/models", headers=operator)).status_code == 403
    assert (await admin_client.get("/v1/models")).status_code == 401

    bad = await admin_client.post("/v1/models/train", headers=analyst, json={"horizon": 0, "drop_table": "x"})
    assert bad.status_code == 422

    body = {"candidate": "logreg", "horizon": 2, "as_of": city["last_month"].isoformat()}
    before = {m["version"] for m in (await admin_client.get("/v1/models", headers=analyst)).json()}
    jobs = []
    for i in range(2):  # the fit is a models.train job: nothing is fitted until the worker runs it
        started = await admin_client.post("/v1/models/train", headers=analyst, json=body)
        assert started.status_code == 202 and started.json()["status"] == "queued"
        jobs.append(started.json()["job_id"])
        waiting = await admin_client.post("/v1/models/train", headers=analyst, json=body)
        assert waiting.status_code == 409 and waiting.json()["error"] == "job_already_queued"
        listed = (await admin_client.get("/v1/models", headers=analyst)).json()
        assert len({m["version"] for m in listed} - before) == i  # not fitted before the worker runs
        await drain(settings)
    for job_id in jobs:
        job = (await admin_client.get(f"/v1/jobs/{job_id}", headers=analyst)).json()
        assert job["status"] == "succeeded" and job["task"] == "models.train"
    listed = (await admin_client.get("/v1/models", headers=analyst)).json()
    new = sorted({m["version"] for m in listed} - before)
    assert len(new) == 2
    model = next(m for m in listed if m["version"] == new[0])
    assert model["metrics"]["roc_auc"] > 0.7 and model["factor_ranking"] and "artifact" not in model

    cmp = await admin_client.get("/v1/models/compare", headers=analyst, params=[("versions", v) for v in new])
    assert cmp.status_code == 200 and [m["version"] for m in cmp.json()["models"]] == new
    one = await admin_client.get("/v1/models/compare", headers=analyst, params={"versions": new[0]})
    assert one.status_code == 422

    for v in new:
        done = await admin_client.post(f"/v1/models/{v}/activate", headers=analyst)
        assert done.status_code == 200 and done.json()["active"] is True
    assert (await admin_client.get(f"/v1/models/{new[0]}", headers=analyst)).json()["active"] is False
    assert (await admin_client.post("/v1/models/99999999/activate", headers=analyst)).status_code == 404
    assert (await admin_client.post(f"/v1/models/{new[0]}/activate", headers=operator)).status_code == 403
    async with sm() as s:
        actions = (
            await s.scalars(
                text("SELECT action FROM audit_log WHERE action LIKE 'models.%' AND object_id = :v"), {"v": str(new[1])}
            )
        ).all()
    assert "models.activate" in actions
