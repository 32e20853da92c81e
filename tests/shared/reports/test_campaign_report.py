"""Campaign report figures against a hand-computed example (measured from launch, members at
launch, attribution, Newcombe and difference-in-differences), and the touch report."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from scipy.stats import t as student_t
from sqlalchemy import text

from shared.reports import campaigns as reports
from shared.reports import tracking
from shared.reports.stats import wilson
from tests.fixtures.factories import create_branch, create_product
from tests.fixtures.factories_backoffice import bulk_customers, create_strategy

LAUNCH = datetime.fromisoformat("2031-06-01T09:00:00+08:00")
AS_OF = date(2031, 7, 15)  # June is the one complete month after launch
PRE = (date(2031, 3, 1), date(2031, 4, 1), date(2031, 5, 1))
T_DELTAS = [10, 20, 30, 40, 50, 10, 20, 30, 40, 50]  # June bill − baseline, fen
H_DELTAS = [0, 10, 20, 0, 10, 20, 0, 10, 20, 10]


def at(s: str) -> datetime:
    return datetime.fromisoformat(f"2031-{s}+08:00")


async def _usage(db, customer: int, month: date, bill: int) -> None:
    await db.execute(text("SELECT ensure_usage_partition(:m)"), {"m": month})
    await db.execute(
        text(
            "INSERT INTO monthly_usage (customer_id, month, voice_min, data_mb, sms, voice_allowance_min, "
            "data_allowance_mb, broadband_gb, active_days, topup_count, bill_fen) "
            "VALUES (:i, :m, 0, 0, 0, 0, 0, 0, 0, 0, :b)"
        ),
        {"i": customer, "m": month, "b": bill},
    )


async def _order(db, customer: int, product: int, when: datetime, channel: str = "app") -> None:
    await db.execute(
        text(
            "INSERT INTO subscriptions (customer_id, product_id, status, starts_on, channel, charge_fen, created_at) "
            "VALUES (:c, :p, 'active', :d, :ch, 3000, :at)"
        ),
        {"c": customer, "p": product, "d": when.date(), "ch": channel, "at": when},
    )


async def _touch(
    db,
    customer: int,
    cid: int,
    product: int,
    channel: str,
    outcome: str,
    when: datetime,
    responded: datetime | None = None,
) -> None:
    await db.execute(
        text(
            "INSERT INTO touches (customer_id, channel, occurred_at, campaign_id, product_id, outcome, cost_fen, "
            "visible_to_customer, responded_at) VALUES (:i, :ch, :at, :c, :p, :o, 100, true, :r)"
        ),
        {"i": customer, "ch": channel, "at": when, "c": cid, "p": product, "o": outcome, "r": responded},
    )


async def build_example(db) -> tuple[int, int, list[int], list[int]]:
    """21 members launched 2031-06-01: treated 10 (1 churns on 07-01), hold-out 11 (one had already
    churned on 05-20, before launch; 4 churn on 07-01). Every member: baseline 5000 fen (bills of
    5000 in March-May), June bill 5000 + delta. Offers of product P (the strategy's):
      t0 SMS sent 06-10, orders P in the app 06-12        → credited to the SMS (2 days)
      t1 SMS sent 06-10, orders P 06-20                    → not credited (10 days > 7), converted
      t2 SMS sent 06-10                                    → nothing
      t3 SMS sent 06-10, orders another product 06-11      → not credited
      t4 SMS replied "1" 06-10 (outcome ordered), order    → credited, success
      t5 SMS still queued                                  → not a contact
      t6 manager call, accepted_offer with the order 06-15 → credited, offline success
      t7 manager call, no_answer 06-15
      t8 in-app recommendation 06-05, orders P 06-08       → credited to the recommendation
      h0 (hold-out) orders P 06-12                         → organic, converted
    """
    branch = await create_branch(db)
    ids = await bulk_customers(db, 21, branch_id=branch.id)
    treated, held, gone = ids[:10], ids[10:20], ids[20]
    product = await create_product(db)
    other = await create_product(db, name="voice pack")
    sid = await create_strategy(db, product_id=product.id)
    cid = await db.scalar(
        text(
            "INSERT INTO campaigns (name, query, strategy_id, channel, flow, starts_on, ends_on, holdout_pct, "
            "cost_per_touch_fen, status, launched_at) VALUES ('hand example', '{}', :s, 'sms', 'outbound', "
            "DATE '2031-05-01', DATE '2031-06-30', 50, 100, 'running', :l) RETURNING id"
        ),
        {"s": sid, "l": LAUNCH},
    )
    for group, holdout, deltas in ((treated, False, T_DELTAS), (held, True, H_DELTAS)):
        for customer, delta in zip(group, deltas, strict=True):
            await db.execute(
                text(
                    "INSERT INTO campaign_members (campaign_id, customer_id, holdout, baseline_arpu_fen, branch_id) "
                    "VALUES (:c, :i, :h, 5000, :b)"
                ),
                {"c": cid, "i": customer, "h": holdout, "b": branch.id},
            )
            for month in PRE:
                await _usage(db, customer, month, 5000)
            await _usage(db, customer, date(2031, 6, 1), 5000 + delta)
    await db.execute(
        text(
            "INSERT INTO campaign_members (campaign_id, customer_id, holdout, baseline_arpu_fen, branch_id) "
            "VALUES (:c, :i, true, NULL, :b)"
        ),
        {"c": cid, "i": gone, "b": branch.id},
    )
    churn = [(gone, date(2031, 5, 20)), (treated[9], date(2031, 7, 1))] + [(h, date(2031, 7, 1)) for h in held[6:]]
    for customer, day in churn:
        await db.execute(
            text("UPDATE customers SET status = 'churned', churned_on = :d WHERE id = :i"), {"d": day, "i": customer}
        )
    p = product.id
    for k in range(4):
        await _touch(db, treated[k], cid, p, "sms", "sent", at("06-10T10:00:00"))
    await _order(db, treated[0], p, at("06-12T08:00:00"))
    await _order(db, treated[1], p, at("06-20T08:00:00"))
    await _order(db, treated[3], other.id, at("06-11T08:00:00"))
    await _touch(db, treated[4], cid, p, "sms", "ordered", at("06-10T10:00:00"), responded=at("06-10T12:00:00"))
    await _order(db, treated[4], p, at("06-10T12:00:00"), channel="sms")
    await _touch(db, treated[5], cid, p, "sms", "queued", at("06-10T10:00:00"))
    await _touch(db, treated[6], cid, p, "manager_call", "accepted_offer", at("06-15T10:00:00"))
    await _order(db, treated[6], p, at("06-15T10:00:00"), channel="manager")
    await _touch(db, treated[7], cid, p, "manager_call", "no_answer", at("06-15T11:00:00"))
    await db.execute(
        text(
            "INSERT INTO recommendations (customer_id, strategy_id, campaign_id, product_id, channel, status, score, "
            "created_at) VALUES (:i, :s, :c, :p, 'app', 'open', 1, :at)"
        ),
        {"i": treated[8], "s": sid, "c": cid, "p": p, "at": at("06-05T08:00:00")},
    )
    await _order(db, treated[8], p, at("06-08T08:00:00"))
    await _order(db, held[0], p, at("06-12T08:00:00"))
    return cid, branch.id, treated, held


class TestHandComputedExample:
    async def test_members_retention_and_survival_from_launch(self, db) -> None:
        cid, _, _, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
        assert (row["members"], row["treated"], row["holdout"]) == (21, 10, 11)
        assert row["excluded_churned_before_launch"] == 1  # churned on 05-20, never at risk
        assert (row["at_risk_treated"], row["at_risk_holdout"]) == (10, 10)
        assert (row["retained_treated"], row["retained_holdout"]) == (9, 6)
        assert (row["measured_from"], row["post_days"], row["post_months"]) == ("2031-06-01", 44, 1)
        # Wilson 9/10: centre (0.9 + 1.9208/10)/(1 + 3.8415/10) = 0.7891, half 0.1856 → (0.5958, 0.9821)
        assert (row["retention_treated_ci_low"], row["retention_treated_ci_high"]) == (0.5958, 0.9821)
        # Newcombe: d = 0.3; Wilson 6/10 = (0.3127, 0.8318);
        # low = 0.3 − sqrt((0.9 − 0.5958)² + (0.8318 − 0.6)²) = 0.3 − 0.3825 = −0.0825
        # high = 0.3 + sqrt((0.9821 − 0.9)² + (0.6 − 0.3127)²) = 0.3 + 0.2988 = 0.5988
        assert row["retention_uplift"] == 0.3
        assert row["retention_uplift_ci_low"] == pytest.approx(-0.0825, abs=2e-4)
        assert row["retention_uplift_ci_high"] == pytest.approx(0.5988, abs=2e-4)
        assert row["retention_ci_method"] == "newcombe"
        # the one churn date, 07-01, is day 30 after launch
        assert row["survival"] == [{"day": 30, "treated": 0.9, "holdout": 0.6}]

    async def test_arpu_difference_in_differences(self, db) -> None:
        cid, _, _, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
        # pre 5000 for everyone; change = June − baseline: treated mean 30 (s² = 2000/9), hold-out 10 (s² = 600/9)
        assert (row["arpu_pre_treated_fen"], row["arpu_pre_holdout_fen"]) == (5000, 5000)
        assert (row["arpu_change_treated_fen"], row["arpu_change_holdout_fen"], row["arpu_uplift_fen"]) == (30, 10, 20)
        a, b = 2000 / 9 / 10, 600 / 9 / 10
        df = (a + b) ** 2 / (a * a / 9 + b * b / 9)
        half = float(student_t.ppf(0.975, df)) * math.sqrt(a + b)
        assert row["arpu_uplift_df"] == pytest.approx(df, abs=0.01)
        assert row["arpu_uplift_ci_low_fen"] == pytest.approx(20 - half, abs=0.01)
        assert row["arpu_uplift_ci_high_fen"] == pytest.approx(20 + half, abs=0.01)
        # revenue retention: June bills ÷ baselines = (50000 + 300) / 50000 and (50000 + 100) / 50000
        assert (row["revenue_retention_treated"], row["revenue_retention_holdout"]) == (1.006, 1.002)
        assert row["arpu_pre_difference_fen"] == 0

    async def test_touches_success_and_attribution(self, db) -> None:
        cid, _, _, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
        # 7 contacts (the queued SMS is none): 5 SMS, 2 calls; success = t0 (credited), t4, t6
        assert (row["touches"], row["reached"], row["answered"]) == (7, 7, 2)
        assert (row["touch_success_rate"], row["offline_success_rate"], row["online_success_rate"]) == (
            round(3 / 7, 4),
            0.5,
            0.4,
        )
        assert (row["touch_success_ci_low"], row["touch_success_ci_high"]) == tuple(round(x, 4) for x in wilson(3, 7))
        # credited orders: t0, t4, t6 and t8's recommendation; accepted = those four members
        assert (row["orders_attributed"], row["orders_attributed_fen"], row["accepted"]) == (4, 12000, 4)
        assert row["attribution_window_days"] == 7 and "last touch" in row["attribution_rule"]
        # conversion: treated t0, t1, t4, t6, t8 ordered P after launch (5/10); hold-out h0 (1/10)
        assert (row["converted_treated"], row["converted_holdout"], row["conversion_uplift"]) == (5, 1, 0.4)
        assert row["conversion_uplift_ci_low"] < 0.4 < row["conversion_uplift_ci_high"]
        # cost 7 × 100; per retained treated member 700 / 9; per extra retained one 700 / (0.3 × 10)
        assert row["cost_fen"] == 700
        assert row["cost_per_retained_fen"] == pytest.approx(77.78, abs=0.01)
        assert row["cost_per_incremental_retained_fen"] == pytest.approx(233.33, abs=0.01)

    async def test_a_longer_window_credits_the_late_order(self, db) -> None:
        cid, _, _, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF, attribution_days=14)
        assert row["orders_attributed"] == 5 and row["touch_success_rate"] == round(4 / 7, 4)

    async def test_small_arms_are_flagged(self, db) -> None:
        cid, _, _, _ = await build_example(db)
        [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
        codes = {w["code"] for w in row["warnings"]}
        assert "arm_too_small" in codes and row["mde_retention_uplift"] > row["target_retention_uplift"]

    async def test_group_by_branch_and_scope(self, db) -> None:
        cid, branch_id, _, _ = await build_example(db)
        rows = await reports.campaign_report(db, group_by="branch", campaign_ids=[cid], as_of=AS_OF)
        assert [r["group"] for r in rows] == [str(branch_id)]
        assert await reports.campaign_report(db, campaign_ids=[cid], branch_id=branch_id + 10_000, as_of=AS_OF) == []

    async def test_touch_report_contacts_per_customer_per_year(self, db) -> None:
        cid, branch_id, _, _ = await build_example(db)
        [row] = await tracking.touch_report(
            db, group_by="branch", first=date(2031, 6, 1), last=date(2031, 6, 1), branch_id=branch_id
        )
        # 7 contacts over the branch's 15 active customers in one month → 7 / 15 × 12 = 5.6 a year
        assert (row["touches"], row["active_customers"]) == (7, 15)
        assert row["contacts_per_customer_per_year"] == 5.6
        assert (row["touch_success_rate"], row["offline_success_rate"], row["online_success_rate"]) == (
            round(3 / 7, 4),
            0.5,
            0.4,
        )


async def test_a_churn_without_a_date_counts_as_churned_after_launch(db) -> None:
    branch = await create_branch(db)
    ids = await bulk_customers(db, 4, branch_id=branch.id)
    cid = await db.scalar(
        text(
            "INSERT INTO campaigns (name, query, channel, flow, starts_on, ends_on, holdout_pct, cost_per_touch_fen, status, "
            "launched_at) VALUES ('undated', '{}', 'sms', 'outbound', DATE '2031-06-01', DATE '2031-06-30', 50, 0, "
            "'running', :l) RETURNING id"
        ),
        {"l": LAUNCH},
    )
    for k, customer in enumerate(ids):
        await db.execute(
            text("INSERT INTO campaign_members (campaign_id, customer_id, holdout) VALUES (:c, :i, :h)"),
            {"c": cid, "i": customer, "h": k >= 2},
        )
    await db.execute(text("UPDATE customers SET status = 'churned', churned_on = NULL WHERE id = :i"), {"i": ids[0]})
    [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=AS_OF)
    assert (row["at_risk_treated"], row["retained_treated"], row["excluded_churned_before_launch"]) == (2, 1, 0)
