"""Whom to contact (issue 19, goal 5): an uplift model from a campaign's hold-out group, on a city
with a planted treatment effect. Drifters in contract respond to a call (treated ones stay),
drifters out of contract churn anyway, the rest rarely churn either way. The churn score ranks
both kinds of drifter high; the uplift score must rank only the persuadable ones high, the
registry must carry its Qini curve, and strategy matching must be able to target them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import numpy as np
import pytest
from sqlalchemy import text

from shared.churn import registry, scoring
from shared.churn.uplift import qini
from shared.engine.rules import Compiler
from shared.engine.strategies import compile_condition
from tests.fixtures.planted_churn_city import plant_campaign, plant_city

LAST = date(2026, 9, 1)
N = 4000


@pytest.fixture(scope="module")
async def planted(sm) -> AsyncIterator[dict]:  # type: ignore[no-untyped-def]
    first = 6_000_000_000  # the module's own database: fixed ids keep the hash hold-out reproducible
    last = first + N - 1
    async with sm.begin() as s:
        info = await plant_city(s, n=N, first_id=first, last_month=LAST, drift_share=0.4, seed=0.19)
        cid = await plant_campaign(s, lo=first, hi=last, starts_on=date(2026, 8, 1), ends_on=date(2026, 9, 30))
        in_contract = set(
            (
                await s.scalars(
                    text("SELECT id FROM customers WHERE id BETWEEN :lo AND :hi AND contract_end IS NOT NULL"),
                    {"lo": first, "hi": last},
                )
            ).all()
        )
    drifters = set(info["drifters"])
    everyone = set(range(first, last + 1))
    # in-contract non-drifters who churn at the base rate also stay when called: mildly persuadable
    yield {
        "first": first,
        "last": last,
        "campaign": cid,
        "persuadable": drifters & in_contract,
        "lost_cause": drifters - in_contract,
        "never": everyone - drifters - in_contract,
    }
    rng = {"lo": first, "hi": last}
    async with sm.begin() as s:
        await s.execute(text("DELETE FROM campaign_members WHERE campaign_id = :c"), {"c": cid})
        await s.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": cid})
        for table in ("customer_profiles", "competitor_calls", "monthly_usage"):
            await s.execute(text(f"DELETE FROM {table} WHERE customer_id BETWEEN :lo AND :hi"), rng)
        await s.execute(text("DELETE FROM customers WHERE id BETWEEN :lo AND :hi"), rng)
        await s.execute(text("DELETE FROM churn_models"))


async def test_uplift_ranks_the_persuadable_not_the_lost_causes(sm, planted) -> None:  # type: ignore[no-untyped-def]
    version = await registry.train(sm, candidate="logreg_plain", horizon=2, latest=LAST, activate=True)
    async with sm() as s:
        metrics = (await registry.get(s, version))["metrics"]
    up = metrics["uplift"]
    assert up["treated"] > 1000 and up["holdout"] > 300 and up["churn_holdout"] > up["churn_treated"]
    assert up["qini"]["coefficient"] > 0.01 and len(up["qini"]["curve"]) == 10
    assert up["qini"]["curve"][2]["prevented"] > up["qini"]["curve"][2]["random"]  # top 30 % beats random

    await scoring.score_all(sm, cutoff=LAST)
    async with sm() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT customer_id, uplift_score, warning_coefficient FROM customer_profiles "
                    "WHERE customer_id BETWEEN :lo AND :hi"
                ),
                {"lo": planted["first"], "hi": planted["last"]},
            )
        ).all()
        cond = Compiler("t")
        predicate = compile_condition(cond, {"persuadable": True}, {})
        matched = set(
            (
                await s.scalars(
                    text(
                        f"SELECT p.customer_id FROM customer_profiles p WHERE p.customer_id BETWEEN :lo AND :hi AND {predicate}"
                    ),
                    {**cond.params, "lo": planted["first"], "hi": planted["last"]},
                )
            ).all()
        )
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    assert all(v[0] is not None for v in by_id.values())

    def mean(group: str, k: int) -> float:
        return float(np.mean([by_id[i][k] for i in planted[group] if i in by_id]))

    # both kinds of drifter are at risk; only the persuadable ones are worth the call
    assert mean("lost_cause", 1) > 3 * mean("never", 1) and mean("persuadable", 1) > 3 * mean("never", 1)
    assert mean("persuadable", 0) > mean("lost_cause", 0) + 0.05
    assert mean("persuadable", 0) > mean("never", 0) + 0.05

    def share(group: str) -> float:
        ids = [i for i in planted[group] if i in by_id]
        return sum(i in matched for i in ids) / len(ids)

    assert share("persuadable") > 0.8 and share("lost_cause") < 0.35 and share("never") < 0.15


def test_qini_of_a_perfect_and_a_random_ranking() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    treated = rng.random(n) < 0.7
    persuadable = rng.random(n) < 0.2
    churn = np.where(persuadable & ~treated, rng.random(n) < 0.8, rng.random(n) < 0.1)
    good = qini(churn, treated, persuadable + rng.random(n) * 0.1)
    noise = qini(churn, treated, rng.random(n))
    assert good["coefficient"] > 0.05 > abs(noise["coefficient"])
    assert good["prevented_if_all"] == noise["prevented_if_all"] > 0


def test_persuadable_condition_is_validated() -> None:
    from shared.engine.rules import RuleError

    sql = compile_condition(Compiler("v"), {"persuadable": True, "risk": ["high"]}, {})
    assert "p.uplift_score" in sql and "p.risk_level" in sql
    with pytest.raises(RuleError):
        compile_condition(Compiler("v"), {"persuadable": "yes"}, {})
