"""The churn model on a city from the demo generator (tenure_demo.generator.load_city).

The generator dates churn over several months, so the registry can fit on earlier churn and
evaluate on later churn the model never saw (out of time). A frame's features must see nothing
after its cut-off: removing every later row leaves them unchanged, and the label counts only churn
strictly after the cut-off month, within the horizon.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.churn import features as feat
from shared.churn import registry
from tenure_demo.generator import load_city

N = 3000
SEED = 11
AS_OF = date(2026, 6, 15)  # usage 2025-11 .. 2026-05; churn 2026-02-01 .. 2026-06-14


@pytest.fixture(scope="module")
def generated(database_url: str) -> dict:
    """The module's own fresh database (the generator only loads into an empty one)."""
    return load_city(database_url, customers=N, months=7, seed=SEED, as_of=AS_OF, progress=lambda s: None)


async def test_registry_evaluates_out_of_time_on_a_generated_city(
    sm: async_sessionmaker[AsyncSession], generated: dict
) -> None:
    version = await registry.train(sm, candidate="logreg", horizon=2)
    async with sm() as s:
        m = (await registry.get(s, version))["metrics"]
    # latest month 2026-05: fit on the 2026-01 frame (churn in Feb-Mar), score the 2026-03 frame (Apr-May)
    assert m["evaluation"] == "out-of-time"
    assert (m["train_cutoff"], m["test_cutoff"]) == ("2026-01-01", "2026-03-01")
    assert m["overlapping_windows"] is False
    assert m["train_churners"] >= 15 and m["test_churners"] >= 15
    assert m["roc_auc"] > 0.75 and m["top_decile_lift"] > 3


@pytest.mark.parametrize("cutoff", [date(2026, 1, 1), date(2026, 3, 1)])
async def test_features_see_nothing_after_the_cutoff(
    sm: async_sessionmaker[AsyncSession], generated: dict, cutoff: date
) -> None:
    p = feat.params(cutoff, 2)
    async with sm() as s:
        before = await feat.training_frame(s, cutoff=cutoff, horizon=2)
        churned = set(
            (
                await s.scalars(
                    text("SELECT id FROM customers WHERE churned_on >= :a AND churned_on < :b"),
                    {"a": p["cutoff_end"], "b": p["label_end"]},
                )
            ).all()
        )
        gone = await s.scalar(
            text("SELECT count(*) FROM customers WHERE churned_on < :a AND id = ANY(:ids)"),
            {"a": p["cutoff_end"], "ids": before.ids.tolist()},
        )
        await s.rollback()
    # label: churn strictly after the cut-off month and within the horizon; earlier churners are out
    assert set(before.ids[before.y == 1].tolist()) == churned and len(churned) >= 15
    assert gone == 0 and len(before) > 0.9 * N
    # the history after the cut-off removed (in a transaction rolled back): the same features
    async with sm() as s:
        for sql in (
            "DELETE FROM monthly_usage WHERE month > :m",
            "DELETE FROM complaints WHERE occurred_at >= CAST(:cutoff_end AS date)",
            "DELETE FROM competitor_calls WHERE called_at >= CAST(:cutoff_end AS date)",
            "DELETE FROM handsets WHERE started_on >= CAST(:cutoff_end AS date)",
        ):
            assert (await s.execute(text(sql), p)).rowcount > 0, sql
        after = await feat.training_frame(s, cutoff=cutoff, horizon=2)
        await s.rollback()
    assert np.array_equal(before.ids, after.ids) and np.array_equal(before.y, after.y)
    np.testing.assert_allclose(before.X, after.X, rtol=1e-12)  # (aggregates may sum in another order)
