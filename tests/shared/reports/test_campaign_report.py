"""Campaign report figures against a hand-computed example, and the interval formulas themselves."""
from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from sqlalchemy import text

from shared.reports import campaigns as reports
from shared.reports import tracking
from shared.reports.stats import diff_proportions, welch
from tests.fixtures.factories import create_branch
from tests.fixtures.factories_backoffice import bulk_customers

MONTH = date(2031, 6, 1)
AS_OF = date(2031, 8, 1)


async def build_example(db) -> tuple[int, int]:
    """20 members: treated 10 (9 retained), hold-out 10 (6 retained).

    ARPU change (bill in June − baseline): treated members 1–5: +10, +20, +30, +40, +50 fen;
    hold-out members 1–3: 0, +10, +20 fen; the other members have no baseline.
    Treated touches: 8 (2 by manager call, offline), 4 accepted (1 of them offline), 100 fen each.
    """
    branch = await create_branch(db)
    ids = await bulk_customers(db, 20, branch_id=branch.id)
    treated, held = ids[:10], ids[10:]
    cid = await db.scalar(text(
        "INSERT INTO campaigns (name, query, channel, flow, starts_on, ends_on, holdout_pct, cost_per_touch_fen, status) "
        "VALUES ('hand example', '{}', 'sms', 'outbound', :s, :e, 50, 100, 'running') RETURNING id"),
        {"s": MONTH, "e": date(2031, 6, 30)})
    await db.execute(text("SELECT ensure_usage_partition(:m)"), {"m": MONTH})
    for group, holdout, deltas, churned in ((treated, False, [10, 20, 30, 40, 50], 1), (held, True, [0, 10, 20], 4)):
        for k, customer in enumerate(group):
            has_arpu = k < len(deltas)
            await db.execute(text(
                "INSERT INTO campaign_members (campaign_id, customer_id, holdout, baseline_arpu_fen) VALUES (:c, :i, :h, :b)"),
                {"c": cid, "i": customer, "h": holdout, "b": 5000 if has_arpu else None})
            if has_arpu:
                await db.execute(text(
                    "INSERT INTO monthly_usage (customer_id, month, voice_min, data_mb, sms, voice_allowance_min, "
                    "data_allowance_mb, broadband_gb, active_days, topup_count, bill_fen) "
                    "VALUES (:i, :m, 0, 0, 0, 0, 0, 0, 0, 0, :b)"), {"i": customer, "m": MONTH, "b": 5000 + deltas[k]})
        for customer in group[-churned:]:
            await db.execute(text("UPDATE customers SET status = 'churned', churned_on = :d WHERE id = :i"),
                             {"d": date(2031, 7, 1), "i": customer})
    touches = [("sms", "accepted"), ("sms", "accepted"), ("sms", "accepted"), ("sms", "sent"), ("sms", "sent"),
               ("sms", "sent"), ("manager_call", "accepted"), ("manager_call", "no_answer")]
    for k, (channel, outcome) in enumerate(touches):
        await db.execute(text(
            "INSERT INTO touches (customer_id, channel, occurred_at, campaign_id, outcome, cost_fen, visible_to_customer) "
            "VALUES (:i, :ch, :at, :c, :o, 100, true)"),
            {"i": treated[k], "ch": channel, "at": datetime.fromisoformat("2031-06-10T10:00:00+08:00"), "c": cid, "o": outcome})
    # a queued (never sent) message is not a contact
    await db.execute(text(
        "INSERT INTO touches (customer_id, channel, campaign_id, outcome, cost_fen, visible_to_customer) "
        "VALUES (:i, 'sms', :c, 'queued', 100, true)"), {"i": treated[9], "c": cid})
    return cid, branch.id


class TestHandComputedExample:
    async def test_uplift_and_confidence_intervals(self, db) -> None:
        cid, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
        assert (row["treated"], row["holdout"], row["retained_treated"], row["retained_holdout"]) == (10, 10, 9, 6)
        # Retention: p1 = 0.9, p2 = 0.6, d = 0.3
        # se = sqrt(0.9·0.1/10 + 0.6·0.4/10) = sqrt(0.033) = 0.181659
        # CI = 0.3 ± 1.959964 · 0.181659 = 0.3 ± 0.356045 → (−0.056045, 0.656045)
        assert row["retention_uplift"] == 0.3
        assert row["retention_uplift_ci_low"] == pytest.approx(-0.0560, abs=1e-4)
        assert row["retention_uplift_ci_high"] == pytest.approx(0.6560, abs=1e-4)
        # ARPU change: treated mean 30 (s² = 250, n = 5), hold-out mean 10 (s² = 100, n = 3), d = 20
        # se = sqrt(250/5 + 100/3) = sqrt(83.3333) = 9.128709
        # df = 83.3333² / ((50²)/4 + (33.3333²)/2) = 6944.44 / 1180.56 = 5.882353
        # t(0.975, 5.882353) = 2.458824 → CI = 20 ± 22.445887 → (−2.445887, 42.445887)
        assert (row["arpu_change_treated_fen"], row["arpu_change_holdout_fen"], row["arpu_uplift_fen"]) == (30, 10, 20)
        assert row["arpu_uplift_df"] == pytest.approx(5.88, abs=0.01)
        assert row["arpu_uplift_ci_low_fen"] == pytest.approx(-2.45, abs=0.01)
        assert row["arpu_uplift_ci_high_fen"] == pytest.approx(42.45, abs=0.01)
        # Touches: 8 contacts (the queued one is not), 4 successful; offline 2 (1 ok), online 6 (3 ok)
        assert (row["touches"], row["reached"], row["accepted"]) == (8, 8, 4)
        assert (row["touch_success_rate"], row["offline_success_rate"], row["online_success_rate"]) == (0.5, 0.5, 0.5)
        assert (row["offline_touches"], row["online_touches"]) == (2, 6)
        # Cost 800 fen; per retained treated customer 800 / 9; per incremental retained 800 / (0.3 · 10)
        assert row["cost_fen"] == 800
        assert row["cost_per_retained_fen"] == pytest.approx(88.89, abs=0.01)
        assert row["cost_per_incremental_retained_fen"] == pytest.approx(266.67, abs=0.01)

    async def test_group_by_branch_and_scope(self, db) -> None:
        cid, branch_id = await build_example(db)
        rows = await reports.campaign_report(db, group_by="branch", campaign_ids=[cid], as_of=AS_OF)
        assert [r["group"] for r in rows] == [str(branch_id)]
        assert await reports.campaign_report(db, campaign_ids=[cid], branch_id=branch_id + 10_000, as_of=AS_OF) == []

    async def test_touch_report_contacts_per_customer_per_year(self, db) -> None:
        cid, branch_id = await build_example(db)
        [row] = await tracking.touch_report(db, group_by="branch", first=MONTH, last=MONTH, branch_id=branch_id)
        # 8 contacts over the branch's 15 active customers in one month → 8 / 15 × 12 = 6.4 a year
        assert (row["touches"], row["active_customers"]) == (8, 15)
        assert row["contacts_per_customer_per_year"] == 6.4


class TestFormulas:
    def test_difference_of_proportions(self) -> None:
        iv = diff_proportions(9, 10, 6, 10)
        assert iv is not None and iv.estimate == pytest.approx(0.3)
        assert iv.se == pytest.approx(math.sqrt(0.033))
        assert diff_proportions(1, 0, 1, 1) is None

    def test_welch(self) -> None:
        iv = welch(30, 250, 5, 10, 100, 3)
        assert iv is not None and iv.df == pytest.approx(5.882353, abs=1e-6)
        assert (iv.low, iv.high) == (pytest.approx(-2.445887, abs=1e-5), pytest.approx(42.445887, abs=1e-5))
        assert welch(1, 1, 1, 1, 1, 5) is None
