"""The run's steps: churn, clusters and four-high run side by side, and so do assignment and tags
(each group reads and writes disjoint tables), every other stage alone and in order; a failing stage lets its step finish, then fails the
run before the next step."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from shared import clock
from shared.churn import pipeline
from shared.engine import runner
from shared.engine.jobs import RunContext


def test_churn_clusters_and_four_high_form_one_step() -> None:
    names = [[name for name, _ in step] for step in runner.steps(runner.STAGES)]
    assert names == [
        ["features"],
        ["tiers"],
        ["churn", "clusters", "four_high"],
        ["profiles"],
        ["assignment", "tags"],
        ["strategies"],
        ["care_tasks"],
    ]
    assert [n for step in names for n in step] == runner.STAGE_NAMES  # the order is kept


class _Recorder:
    """Fake stages that record which stages were running at once (each yields a few times)."""

    def __init__(self, fail: str | None = None) -> None:
        self.running: set[str] = set()
        self.together: list[frozenset[str]] = []
        self.started: list[str] = []
        self.sharing: dict[str, int] = {}
        self.fail = fail

    def stage(self, name: str):  # type: ignore[no-untyped-def]
        async def run(ctx: RunContext) -> int:
            self.started.append(name)
            self.sharing[name] = pipeline._sharing  # noqa: SLF001
            self.running.add(name)
            try:
                for _ in range(5):
                    await asyncio.sleep(0.01)
                    self.together.append(frozenset(self.running))
                if name == self.fail:
                    raise RuntimeError(f"{name} broke")
                return 1
            finally:
                self.running.discard(name)

        return run


async def _stages(sm, run_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        rows = await s.execute(text("SELECT stage, status FROM engine_run_stages WHERE run_id = :r"), {"r": run_id})
        return {r.stage: r.status for r in rows}


async def test_the_beside_step_runs_its_stages_at_once(sm, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rec = _Recorder()
    monkeypatch.setattr(runner, "STAGES", [(name, rec.stage(name)) for name in runner.STAGE_NAMES])
    monkeypatch.setattr(runner, "start_training_if_needed", lambda sm: asyncio.sleep(0, None))
    run_id = await runner.run_nightly(engine, run_date=clock.today())
    assert max(len(t) for t in rec.together) == 3
    assert all(
        t <= {"churn", "clusters", "four_high"} or t == {"assignment", "tags"} for t in rec.together if len(t) > 1
    )
    assert frozenset({"assignment", "tags"}) in rec.together
    assert set((await _stages(sm, run_id)).values()) == {"done"}
    # a first model training meanwhile keeps its linear fits on one BLAS thread (pipeline.linear_alone)
    assert rec.sharing["features"] == rec.sharing["tiers"] == rec.sharing["profiles"] == 1


async def test_a_failure_in_the_step_lets_it_finish_and_stops_the_run(sm, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rec = _Recorder(fail="clusters")
    monkeypatch.setattr(runner, "STAGES", [(name, rec.stage(name)) for name in runner.STAGE_NAMES])
    monkeypatch.setattr(runner, "start_training_if_needed", lambda sm: asyncio.sleep(0, None))
    with pytest.raises(RuntimeError, match="clusters broke"):
        await runner.run_nightly(engine, run_date=clock.today())
    async with sm() as s:
        run_id, status, error = (
            await s.execute(text("SELECT id, status, error FROM engine_runs ORDER BY id DESC LIMIT 1"))
        ).one()
    assert status == "failed" and error.startswith("clusters: RuntimeError")
    stages = await _stages(sm, run_id)
    assert stages == {
        "features": "done",
        "tiers": "done",
        "churn": "done",
        "clusters": "failed",
        "four_high": "done",
    }
    assert "profiles" not in rec.started
