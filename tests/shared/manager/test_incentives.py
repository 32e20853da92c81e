"""Incentive statements: hand-computed points, posted once through the ledger, reproducible."""

from __future__ import annotations

from sqlalchemy import select

from shared.ledger import service as ledger
from shared.manager import incentives
from shared.models import AccountKind, Asset, IncentiveStatement, MonthlyUsage
from tests.shared.manager import scenario

# Default rules. c1: churn task due 20 Jun + 90 days = 18 Sep, still in network -> 50 points;
# c1 bill Sep 6000 vs mean(4000, 5000, 5000) = 4666.67 -> +13.33 yuan -> 13 points. Total 63.
# c3 churned 20 Sep before its window ended (23 Sep); c2's window ends in October; c2, c4 no uplift.


async def test_statement_points_ledger_and_reproducibility(db) -> None:
    sc = await scenario.build(db)
    first = await incentives.run_month(db, scenario.MONTH, actor="test")
    stmt = await db.scalar(select(IncentiveStatement).where(IncentiveStatement.manager_id == sc.m.id))
    assert stmt.points == 63
    c1 = sc.c[0].id
    assert sorted((line["kind"], line["customer_id"], line["points"]) for line in stmt.lines) == [
        ("retained_high_risk", c1, 50),
        ("value_uplift", c1, 13),
    ]
    assert await ledger.balance_of(db, asset=Asset.INCENTIVE, kind=AccountKind.STAFF, owner_id=sc.m.id) == 63
    # idempotent: a second run creates and posts nothing
    again = await incentives.run_month(db, scenario.MONTH, actor="test")
    assert again["created"] == 0 and first["created"] >= 1
    assert await ledger.balance_of(db, asset=Asset.INCENTIVE, kind=AccountKind.STAFF, owner_id=sc.m.id) == 63
    # reproducible: the stored rules recompute the stored lines, even after the rules change
    await incentives.set_rules(db, {"retained_high_risk_points": 999}, staff_id=None)
    recomputed = await incentives.compute_lines(db, [sc.m.id], scenario.MONTH, stmt.rules)
    assert recomputed[sc.m.id] == stmt.lines
    assert (await ledger.verify(db))["ok"]


async def test_pay_per_use_spike_earns_no_uplift(db) -> None:
    """Only the plan and subscription part of a bill counts: c4's September bill jumps by ¥268.76
    of pay-per-use data (its plan fee unchanged), which earns its manager nothing; the same jump
    in the plan fee would have earned the capped uplift."""
    sc = await scenario.build(db)
    c4 = sc.c[3].id
    sep = scenario.MONTH
    row = await db.get(MonthlyUsage, (c4, sep))
    row.bill_fen, row.payg_data_fen = 5000 + 26876, 26876
    await db.flush()
    lines = (await incentives.compute_lines(db, [sc.m.id], sep, incentives.DEFAULT_RULES))[sc.m.id]
    assert [line for line in lines if line["customer_id"] == c4] == []
    row.plan_fee_fen, row.payg_data_fen = 5000 + 26876, 0
    await db.flush()
    lines = (await incentives.compute_lines(db, [sc.m.id], sep, incentives.DEFAULT_RULES))[sc.m.id]
    uplift = [line for line in lines if line["customer_id"] == c4]
    assert [(u["kind"], u["subscription_fen"], u["baseline_fen"]) for u in uplift] == [("value_uplift", 31876, 5000)]
    assert uplift[0]["points"] == min(incentives.DEFAULT_RULES["uplift_cap_points"], 268)
