"""Effects an analyst can trust, end to end on generated cities in Postgres: an A/A campaign
shows no effect, a planted effect is recovered inside its interval, and a campaign measured
before anything could have happened says so instead of showing an effect."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from shared import clock
from shared.campaigns import service as campaign_service
from shared.campaigns.query import AudienceQuery
from shared.reports import campaigns as reports
from tests.fixtures import planted_campaign_city as city
from tests.fixtures.factories import create_branch
from tests.fixtures.factories_backoffice import bulk_customers, usage_rows


def covers_zero(row: dict, name: str, suffix: str = "") -> bool:
    return row[f"{name}_ci_low{suffix}"] <= 0 <= row[f"{name}_ci_high{suffix}"]


async def test_aa_campaigns_cover_zero_in_at_least_90_percent_of_50_runs(db) -> None:
    """50 cities (seeds 1..50) of 400 customers, a 30 % hold-out each, nobody treated differently."""
    cids = []
    for seed in range(1, 51):
        branch = await create_branch(db)
        run_base = city.customer_base(seed)
        await city.build(db, seed=seed, n=400, base=run_base, branch_id=branch.id)
        cid = await city.launch(db, seed=seed, branch_id=branch.id, holdout_pct=30)
        truth = await city.play_forward(db, seed=seed, n=400, base=run_base, campaign_id=cid)
        assert truth.retention_uplift == 0 and truth.arpu_uplift_fen == 0
        cids.append(cid)
    rows = await reports.campaign_report(db, campaign_ids=cids, as_of=city.AS_OF)
    assert len(rows) == 50
    assert all(r["post_months"] == 3 and r["post_days"] == 90 for r in rows)
    assert all(r["retention_ci_method"] == "newcombe" for r in rows)
    churned = sum(
        r["at_risk_treated"] - r["retained_treated"] + r["at_risk_holdout"] - r["retained_holdout"] for r in rows
    )
    assert churned > 1000, "the generated cities churn (about 10 % over three months)"
    retention_covered = sum(covers_zero(r, "retention_uplift") for r in rows)
    arpu_covered = sum(covers_zero(r, "arpu_uplift", "_fen") for r in rows)
    print(f"A/A: retention CI covers 0 in {retention_covered}/50, ARPU in {arpu_covered}/50")
    assert retention_covered >= 45, retention_covered
    assert arpu_covered >= 45, arpu_covered


async def test_planted_effect_is_recovered_inside_its_interval(db) -> None:
    """Treated members' churn hazard halved by the generator: the report finds the true effect."""
    branch = await create_branch(db)
    base = city.customer_base(1000)
    await city.build(db, seed=1000, n=3000, base=base, branch_id=branch.id)
    cid = await city.launch(db, seed=1000, branch_id=branch.id, holdout_pct=30)
    truth = await city.play_forward(db, seed=1000, n=3000, base=base, campaign_id=cid, treated_factor=0.5)
    [row] = await reports.campaign_report(db, campaign_ids=[cid], as_of=city.AS_OF)
    assert 0.02 < truth.retention_uplift < 0.10  # a real, planted effect of a few points
    assert row["retention_uplift_ci_low"] <= truth.retention_uplift <= row["retention_uplift_ci_high"], (row, truth)
    assert row["retention_uplift_ci_low"] > 0, "the effect is detected"
    assert row["arpu_uplift_ci_low_fen"] <= truth.arpu_uplift_fen <= row["arpu_uplift_ci_high_fen"], (row, truth)
    assert row["survival"][-1]["day"] == 90 and row["survival"][-1]["treated"] > row["survival"][-1]["holdout"]


async def test_a_campaign_just_launched_shows_no_effect(db) -> None:
    """Launched now, with a start date 30 days back (as the demo's): measured from the launch, so
    the report says the post-period is too short and every interval covers 0."""
    branch = await create_branch(db)
    ids = await bulk_customers(db, 120, branch_id=branch.id)
    today = clock.today()
    for k, customer in enumerate(ids):  # bills before launch that differ by member
        await usage_rows(
            db, customer, {campaign_service.add_months(today.replace(day=1), -m): 3000 + 97 * k * m for m in (1, 2, 3)}
        )
    campaign = await campaign_service.create_campaign(
        db,
        name="backdated",
        query=AudienceQuery(branch_ids=[branch.id]),
        strategy_id=None,
        channel="manager_call",
        flow="manager_task",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=30),
        holdout_pct=20,
        cost_per_touch_fen=0,
        created_by=None,
    )
    await campaign_service.launch(db, campaign.id)
    [row] = await reports.campaign_report(db, campaign_ids=[campaign.id], as_of=today)
    assert row["measured_from"] == today.isoformat() and row["post_days"] == 0
    assert "post_period_too_short" in {w["code"] for w in row["warnings"]}
    assert row["arpu_uplift_fen"] is None and row["revenue_retention_treated"] is None
    assert (row["retention_treated"], row["retention_holdout"]) == (1.0, 1.0)
    assert row["retention_uplift_ci_low"] < 0 < row["retention_uplift_ci_high"], (
        "a 100 % vs 100 % interval keeps a width"
    )
    assert covers_zero(row, "conversion_uplift")
    snapshot = await db.scalar(
        text("SELECT count(*) FROM campaign_members WHERE campaign_id = :c AND branch_id = :b"),
        {"c": campaign.id, "b": branch.id},
    )
    assert snapshot == 120, "members carry their branch as it was at launch"
