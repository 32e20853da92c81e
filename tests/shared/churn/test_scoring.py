"""Training from the platform's own history, nightly scoring into customer_profiles, the registry."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from shared import clock
from shared.churn import features as feat
from shared.churn import registry, scoring
from shared.engine import runner
from shared.engine.runner import run_nightly
from shared.errors import NotFound


async def _profiles(sm, ids: list[int]) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        rows = await s.execute(
            text(
                "SELECT customer_id, churn_score, warning_coefficient, risk_level, top_factors, model_version, segment "
                "FROM customer_profiles WHERE customer_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return {r[0]: tuple(r[1:]) for r in rows}


async def _active_versions(sm) -> list[int]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return list((await s.scalars(text("SELECT version FROM churn_models WHERE active"))).all())


class TestTrainingFrame:
    async def test_one_row_per_customer_with_the_label_in_the_window(self, sm, city) -> None:
        cutoff = feat.add_months(city["last_month"], -4)
        async with sm() as s:
            frame = await feat.fetch_chunk(s, lo=city["first_id"] - 1, hi=city["last_id"], cutoff=cutoff, horizon=2)
            churned = set(
                (
                    await s.scalars(
                        text(
                            "SELECT id FROM customers WHERE id BETWEEN :lo AND :hi AND churned_on >= :a AND churned_on < :b"
                        ),
                        {
                            "lo": city["first_id"],
                            "hi": city["last_id"],
                            "a": feat.add_months(cutoff, 1),
                            "b": feat.add_months(cutoff, 3),
                        },
                    )
                ).all()
            )
        assert len(set(frame.ids.tolist())) == len(frame) > 1800
        assert set(frame.ids[frame.y == 1].tolist()) == churned and len(churned) > 30
        calls = frame.X[:, feat.FEATURES.index("competitor_calls_90d")]
        assert calls[frame.y == 1].mean() > 5 * max(calls[frame.y == 0].mean(), 0.01)

    @pytest.mark.parametrize("mode", ["train", "score", "score_ids"])
    async def test_the_binary_read_gives_the_rows_frame(self, sm, city, monkeypatch, mode: str) -> None:
        """Frames come through binary COPY (shared.db.binary_rows); the row-by-row read, its
        fallback, must give the same frame, NaN for NaN."""
        from shared.db import binary_rows

        cutoff = feat.add_months(city["last_month"], -4)
        ids = list(range(city["first_id"], city["last_id"] + 1, 3)) if mode == "score_ids" else None
        kw = {"lo": city["first_id"] - 1, "hi": city["last_id"], "cutoff": cutoff, "horizon": 2}
        kw["mode"] = "score" if mode == "score_ids" else mode
        taken: list[bool] = []
        fetch = binary_rows.fetch_columns

        async def spy(*a, **k):  # type: ignore[no-untyped-def]
            out = await fetch(*a, **k)
            taken.append(out is not None)
            return out

        monkeypatch.setattr(binary_rows, "fetch_columns", spy)
        async with sm() as s:
            binary = await feat.fetch_chunk(s, ids=ids, **kw)

        async def nothing(*a, **k) -> None:  # type: ignore[no-untyped-def]
            return None

        monkeypatch.setattr(binary_rows, "fetch_columns", nothing)
        async with sm() as s:
            rows = await feat.fetch_chunk(s, ids=ids, **kw)
        assert taken == [True] and len(binary) == len(rows) > 500
        assert np.array_equal(binary.ids, rows.ids) and np.array_equal(binary.y, rows.y)
        assert binary.X.dtype == rows.X.dtype == np.float64 and binary.X.shape == rows.X.shape
        assert np.array_equal(binary.X, rows.X, equal_nan=True) and np.isnan(rows.X).any()

    async def test_a_sampled_frame_aggregates_only_its_sample(self, sm, city) -> None:
        """A 20 % training sample is the full frame's rows for the sampled customers, and the
        aggregates read only their rows: Postgres does not push the join's filter into a grouped
        subquery, so each aggregate carries the sample condition itself."""
        cutoff = feat.add_months(city["last_month"], -4)
        lo, hi = city["first_id"] - 1, city["last_id"]
        async with sm() as s:
            full = await feat.fetch_chunk(s, lo=lo, hi=hi, cutoff=cutoff, horizon=2)
            part = await feat.fetch_chunk(s, lo=lo, hi=hi, cutoff=cutoff, horizon=2, sample=0.2)
            assert 0.1 * len(full) < len(part) < 0.3 * len(full)
            keep = np.isin(full.ids, part.ids)
            assert np.array_equal(full.ids[keep], part.ids) and np.array_equal(full.y[keep], part.y)
            assert np.array_equal(full.X[keep], part.X, equal_nan=True)

            async def usage_rows_read(sample: float) -> int:
                p = {**feat.params(cutoff, 2), "lo": lo, "hi": hi, "sample": int(round(sample * 10000))}
                plan = await s.scalar(
                    text("EXPLAIN (ANALYZE, FORMAT JSON) " + feat._STATEMENTS["train"].text),
                    p,  # noqa: SLF001
                )
                scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name", "").startswith("monthly_usage")]
                return sum(n["Actual Rows"] * n["Actual Loops"] for n in scans)  # partitions included

            everyone, sampled = await usage_rows_read(1.0), await usage_rows_read(0.2)
        assert everyone > 2 * len(full) and sampled < 0.4 * everyone


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


class TestScoreAll:
    async def test_trains_when_none_active_then_flags_drifters(self, sm, city, monkeypatch) -> None:
        monkeypatch.setattr(registry, "AUTO_CANDIDATES", ("logreg",))  # keep the file fast
        keep = city["active_others"][0]
        async with sm.begin() as s:
            await s.execute(text("UPDATE churn_models SET active = false"))
            await s.execute(
                text(
                    "INSERT INTO customer_profiles (customer_id, segment, four_high, top_factors) "
                    "VALUES (:c, 'relatively_stable', '[]', '[]')"
                ),
                {"c": keep},
            )
        written = await scoring.score_all(sm, cutoff=city["last_month"], chunk=700)
        assert written >= len(city["active_drifters"]) + len(city["active_others"])
        assert len(await _active_versions(sm)) == 1

        drift = await _profiles(sm, city["active_drifters"])
        others = await _profiles(sm, city["active_others"])
        assert len(drift) == len(city["active_drifters"]) and len(others) == len(city["active_others"])
        mean = lambda rows, i: sum(r[i] for r in rows.values()) / len(rows)  # noqa: E731
        assert mean(drift, 1) > 5 * mean(others, 1)  # warning coefficient
        high = lambda rows: sum(r[2] == "high" for r in rows.values()) / len(rows)  # noqa: E731
        assert high(drift) > 0.7 and high(others) < 0.05
        factors = next(iter(drift.values()))[3]
        assert factors and set(factors[0]) == {"factor", "value", "weight"} and factors[0]["weight"] > 0
        assert {f["factor"] for r in drift.values() for f in r[3]} & {
            "competitor_calls_30d",
            "competitor_calls_90d",
            "voice_trend",
            "data_trend",
            "bill_trend",
            "active_days_change",
        }
        assert others[keep][5] == "relatively_stable"  # other stages' columns untouched

        again = await scoring.score_all(sm, cutoff=city["last_month"])
        assert again == written and await _profiles(sm, city["active_drifters"]) == drift  # rerun: same values


class TestFirstModelInTheNight:
    async def test_trained_from_the_start_of_the_run_beside_the_earlier_stages(
        self, sm, engine, city, monkeypatch
    ) -> None:
        """A night with no usable model starts training it when the run starts (the stages
        before churn keep PostgreSQL busy meanwhile), and the churn stage scores with it."""
        monkeypatch.setattr(registry, "AUTO_CANDIDATES", ("logreg",))  # keep the file fast
        async with sm.begin() as s:
            await s.execute(text("UPDATE churn_models SET active = false"))
        done_when_called: list[set[str]] = []
        original = registry.train

        async def spying(sm_, **kw):  # type: ignore[no-untyped-def]
            async with sm_() as s:
                done = await s.scalars(
                    text(
                        "SELECT stage FROM engine_run_stages WHERE status = 'done'"
                        " AND run_id = (SELECT max(id) FROM engine_runs)"
                    )
                )
                done_when_called.append(set(done.all()))
            return await original(sm_, **kw)

        monkeypatch.setattr(registry, "train", spying)
        run_id = await run_nightly(engine, run_date=clock.today(), only=["features", "tiers", "churn"], chunk=700)
        assert done_when_called == [set()]  # one training, called before any stage was done
        async with sm() as s:
            version = await s.scalar(text("SELECT version FROM churn_models WHERE active"))
            status = await s.scalar(
                text("SELECT status FROM engine_run_stages WHERE run_id = :r AND stage = 'churn'"), {"r": run_id}
            )
        assert status == "done" and version is not None
        scored = await _profiles(sm, city["active_drifters"])
        assert scored and {r[4] for r in scored.values()} == {version}

    async def test_a_run_failing_before_churn_leaves_no_model_and_no_lock(self, sm, engine, city, monkeypatch) -> None:
        monkeypatch.setattr(registry, "AUTO_CANDIDATES", ("logreg",))
        async with sm.begin() as s:
            await s.execute(text("UPDATE churn_models SET active = false"))
            before = await s.scalar(text("SELECT coalesce(max(version), 0) FROM churn_models"))

        async def broken(ctx):  # type: ignore[no-untyped-def]
            raise RuntimeError("feed missing")

        monkeypatch.setattr(runner, "STAGES", [("features", broken), *runner.STAGES[1:]])
        with pytest.raises(RuntimeError, match="feed missing"):
            await run_nightly(engine, run_date=clock.today(), only=["features", "churn"], chunk=700)
        async with sm() as s:
            assert await s.scalar(text("SELECT coalesce(max(version), 0) FROM churn_models")) == before
            assert not await registry.training_in_progress(s)
        monkeypatch.undo()
        await registry.train(sm, candidate="logreg", activate=True, latest=city["last_month"])  # for the next test

    async def test_a_usable_model_means_no_training(self, sm, engine, city, monkeypatch) -> None:
        async with sm() as s:
            assert await s.scalar(text("SELECT count(*) FROM churn_models WHERE active")) == 1
        monkeypatch.setattr(registry, "train", None)  # would fail if called
        assert await scoring.start_training_if_needed(sm) is None


class TestRegistry:
    async def test_train_compare_and_activate(self, sm, city) -> None:
        v1 = await registry.train(sm, candidate="logreg", horizon=2, latest=city["last_month"])
        v2 = await registry.train(sm, candidate="logreg", horizon=1, latest=city["last_month"])
        async with sm() as s:
            m1 = await registry.get(s, v1)
            assert m1["metrics"]["evaluation"] == "out-of-time" and m1["metrics"]["roc_auc"] > 0.7
            assert m1["metrics"]["top_decile_lift"] > 2 and "precision_at_capacity" in m1["metrics"]
            assert m1["factor_ranking"][0]["factor"].startswith("competitor_calls")
            # where the training's time went, phase by phase
            seconds = m1["metrics"]["seconds"]
            assert {"frames", "select", "evaluate", "fit", "factors"} <= set(seconds)
            assert all(v >= 0 for v in seconds.values()) and seconds["frames"] > 0
            cmp = await registry.compare(s, [v1, v2])
            assert [m["version"] for m in cmp["models"]] == [v1, v2]
            assert cmp["models"][0]["delta_vs_first"]["roc_auc"] == 0
        for v in (v1, v2, v1):
            async with sm.begin() as s:
                await registry.activate(s, v)
            assert await _active_versions(sm) == [v]
        with pytest.raises(NotFound):
            async with sm.begin() as s:
                await registry.activate(s, 10**8)
        assert await _active_versions(sm) == [v1]  # the failed activation rolled back

    async def test_one_churn_window_falls_back_to_held_out_customers(self, sm, city) -> None:
        latest = feat.add_months(city["last_month"], -4)  # history too short for a second, earlier window
        v = await registry.train(sm, candidate="logreg", horizon=2, latest=latest)
        async with sm() as s:
            metrics = (await registry.get(s, v))["metrics"]
        assert metrics["evaluation"].startswith("held-out customers") and metrics["test_rows"] > 300
