"""Concurrent back-office decisions: one launch, one ad decision, manager capacity held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from shared.backoffice import ads as ad_service
from shared.backoffice import assignments
from shared.campaigns import service as campaigns
from shared.campaigns.query import AudienceQuery
from shared.errors import Conflict
from shared.models import ManagerAssignment
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_branch, create_merchant, create_staff
from tests.fixtures.factories_backoffice import bulk_customers


async def test_concurrent_launches_launch_once(sm) -> None:
    async with sm.begin() as s:
        branch = await create_branch(s)
        await bulk_customers(s, 30, branch_id=branch.id)
        today = datetime.now(UTC).date()
        cid = (
            await campaigns.create_campaign(
                s,
                name="race",
                query=AudienceQuery(branch_ids=[branch.id]),
                strategy_id=None,
                channel="app",
                flow="app",
                starts_on=today,
                ends_on=today + timedelta(days=3),
                holdout_pct=10,
                cost_per_touch_fen=0,
                created_by=None,
            )
        ).id

    async def go(_: int):  # type: ignore[no-untyped-def]
        async with sm.begin() as s:
            return await campaigns.launch(s, cid)

    results = await gather_concurrently(8, go)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    async with sm() as s:
        assert await s.scalar(
            text("SELECT count(*) FROM recommendations WHERE campaign_id = :c"), {"c": cid}
        ) == await s.scalar(
            text("SELECT count(*) FROM campaign_members WHERE campaign_id = :c AND NOT holdout"), {"c": cid}
        )


async def test_concurrent_ad_decisions_one_wins(sm) -> None:
    now = datetime.now(UTC)
    async with sm.begin() as s:
        m = await create_merchant(s)
        ad = await ad_service.submit_merchant_ad(
            s, merchant_id=m.id, title="x", starts_at=now, ends_at=now + timedelta(days=1)
        )

    async def go(i: int):  # type: ignore[no-untyped-def]
        async with sm.begin() as s:
            return (await ad_service.decide(s, ad.id, approve=i % 2 == 0)).status

    results = await gather_concurrently(10, go)
    wins = [r for r in results if isinstance(r, str)]
    assert len(wins) == 1 and sum(isinstance(r, Conflict) for r in results) == 9


async def test_concurrent_moves_respect_capacity(sm) -> None:
    async with sm.begin() as s:
        branch = await create_branch(s)
        ids = await bulk_customers(s, 10, branch_id=branch.id)
        mgr = await create_staff(s, role="account_manager", org_unit_id=branch.id, capacity=5)

    async def go(i: int):  # type: ignore[no-untyped-def]
        async with sm.begin() as s:
            return await assignments.reassign(
                s, customer_ids=ids[i * 2 : (i + 1) * 2], to_manager_id=mgr.id, reason="race", actor_id=mgr.id
            )

    results = await gather_concurrently(5, go)
    assert sum(not isinstance(r, Exception) for r in results) == 2  # 2 × 2 = 4 ≤ 5; a third would make 6
    async with sm() as s:
        assert await s.scalar(select(func.count()).where(ManagerAssignment.manager_id == mgr.id)) == 4
        assert (
            await s.scalar(text("SELECT count(*) FROM assignment_history WHERE to_manager_id = :m"), {"m": mgr.id}) == 4
        )
