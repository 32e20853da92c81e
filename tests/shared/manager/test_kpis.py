"""KPIs computed from records match the figures worked out by hand (scenario.py)."""

from __future__ import annotations

from shared.auth.principals import Audience, Principal
from shared.manager import kpis
from tests.shared.manager import scenario

# Hand computation for manager M, September 2026:
#   routine_care        3 done / 4 planned                         = 0.75   (weight 5)
#   greetings           3 done / (2 birthdays + 3 x 1 holiday)      = 0.6    (weight 4)
#   privilege_awareness 2 customers / 4 assigned                    = 0.5    (weight 1)
#   offer_participation 1 / 4                                       = 0.25   (weight 3)
#   contract_rate       1 / 4                                       = 0.25   (weight 5)
#   value_retention     2 kept / 4 assigned before 1 Sep            = 0.5    (weight 4)
#   satisfaction        mean((5-1)/4, (3-1)/4, (2-1)/4, (1-1)/4)    = 0.4375 (weight 5)
#   score = 100 x (3.75 + 2.4 + 0.5 + 0.75 + 1.25 + 2.0 + 2.1875) / 27 = 47.55
EXPECTED = {
    "routine_care": (3, 4, 0.75),
    "greetings": (3, 5, 0.6),
    "privilege_awareness": (2, 4, 0.5),
    "offer_participation": (1, 4, 0.25),
    "contract_rate": (1, 4, 0.25),
    "value_retention": (2, 4, 0.5),
    "satisfaction": (1.75, 4, 0.4375),
}


async def test_kpis_match_hand_computed_example(db) -> None:
    sc = await scenario.build(db)
    result = await kpis.compute(db, [sc.m.id, sc.m2.id], scenario.MONTH)
    got = {i["code"]: (i["numerator"], i["denominator"], i["value"]) for i in result[sc.m.id]["indicators"]}
    assert got == EXPECTED
    assert [i["weight"] for i in result[sc.m.id]["indicators"]] == [5, 4, 1, 3, 5, 4, 5]
    assert result[sc.m.id]["score"] == 47.55
    # nobody assigned, nothing planned: every indicator is None and the score is 0
    assert all(i["value"] is None for i in result[sc.m2.id]["indicators"]) and result[sc.m2.id]["score"] == 0


async def test_rank_trend_and_scope(db) -> None:
    sc = await scenario.build(db)
    me = Principal("staff", sc.m.id, "account_manager", Audience.MANAGER, sc.branch_id)
    view = await kpis.for_manager(db, me, sc.m.id, scenario.MONTH)
    # "other" has one routine task, done (1/1) and nothing else with a denominator: score 100, rank 1;
    # M 47.55 is second; m2 (nothing at all) scores 0 and is third
    assert view["score"] == 47.55 and view["rank_in_branch"] == 2 and view["branch_size"] == 3
    assert [t["month"] for t in view["trend"]] == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    assert view["trend"][-1]["score"] == 47.55
    head = Principal("staff", sc.head.id, "branch_head", Audience.MANAGER, sc.branch_id)
    ranking = await kpis.branch_ranking(db, sc.branch_id, scenario.MONTH)
    assert [(r["manager_id"], r["rank"], r["score"]) for r in ranking] == [
        (sc.other.id, 1, 100.0),
        (sc.m.id, 2, 47.55),
        (sc.m2.id, 3, 0.0),
    ]
    assert (await kpis.for_manager(db, head, sc.m.id, scenario.MONTH))["score"] == 47.55
