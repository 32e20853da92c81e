"""Points: expiry by earning date, FIFO "expires soonest", set-based expiry and accrual jobs."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from shared.errors import Conflict, InsufficientFunds
from shared.ledger import service as ledger
from shared.points import jobs, rules
from shared.points import service as points_service
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_customer import create_usage, give_points


class TestRules:
    @pytest.mark.parametrize(
        ("rule", "earned", "expected"),
        [
            ({"mode": "end_of_year", "years_after": 1}, date(2025, 1, 1), date(2026, 12, 31)),
            ({"mode": "end_of_year", "years_after": 1}, date(2025, 12, 31), date(2026, 12, 31)),
            ({"mode": "end_of_year", "years_after": 0}, date(2025, 6, 1), date(2025, 12, 31)),
            ({"mode": "rolling_months", "months": 12}, date(2025, 2, 14), date(2026, 2, 28)),
            ({"mode": "rolling_months", "months": 1}, date(2025, 1, 31), date(2025, 2, 28)),
        ],
    )
    def test_expires_on(self, rule, earned, expected) -> None:
        assert rules.expires_on(rule, earned) == expected


class TestEarnSpend:
    async def test_spend_uses_soonest_expiring_first(self, db) -> None:
        c = await create_customer(db)
        await give_points(db, c.id, 100, earned_on=date(2025, 5, 1))  # expires 2026-12-31
        await give_points(db, c.id, 50, earned_on=date(2026, 2, 1))  # expires 2027-12-31
        await points_service.spend(db, customer_id=c.id, amount=120, key="s1", kind="test")
        assert await points_service.expiring(db, c.id) == [{"expires_on": date(2027, 12, 31), "points": 30}]

    async def test_spend_more_than_balance_refused(self, db) -> None:
        c = await create_customer(db)
        await give_points(db, c.id, 10)
        with pytest.raises(InsufficientFunds):
            async with db.begin_nested():
                await points_service.spend(db, customer_id=c.id, amount=11, key="s2", kind="test")
        assert await points_service.balance(db, c.id) == 10

    async def test_replay_moves_nothing(self, db) -> None:
        c = await create_customer(db)
        await give_points(db, c.id, 30)
        a = await points_service.spend(db, customer_id=c.id, amount=10, key="s3", kind="test")
        b = await points_service.spend(db, customer_id=c.id, amount=10, key="s3", kind="test")
        assert (a.txn_id, b.created, b.balance) == (b.txn_id, False, 20)

    async def test_adjust_and_bad_amounts(self, db) -> None:
        c = await create_customer(db)
        await points_service.adjust(
            db, customer_id=c.id, delta=40, key="a1", reason="goodwill", actor="staff:1", today=date(2026, 1, 1)
        )
        await points_service.adjust(
            db, customer_id=c.id, delta=-15, key="a2", reason="fix", actor="staff:1", today=date(2026, 1, 1)
        )
        assert await points_service.balance(db, c.id) == 25
        with pytest.raises(Exception, match="positive"):
            await points_service.spend(db, customer_id=c.id, amount=-5, key="neg", kind="test")


class TestExpiryJob:
    async def test_expires_only_unused_expired_points_once(self, sm) -> None:
        async with sm.begin() as s:
            a = await create_customer(s)
            b = await create_customer(s)
            await give_points(s, a.id, 100, earned_on=date(2024, 3, 1))  # expires 2025-12-31
            await give_points(s, a.id, 40, earned_on=date(2025, 3, 1))  # expires 2026-12-31
            await points_service.spend(s, customer_id=a.id, amount=30, key=f"x-{a.id}", kind="test")
            await give_points(s, b.id, 20, earned_on=date(2024, 3, 1))
            await points_service.spend(s, customer_id=b.id, amount=20, key=f"x-{b.id}", kind="test")
        first = await jobs.run_expiry(sm, today=date(2026, 1, 1), chunk=500)
        again = await jobs.run_expiry(sm, today=date(2026, 1, 2), chunk=500)
        assert first["points"] >= 70 + 0 and again["points"] == 0  # a: 100 - 30 spent; b: nothing left
        async with sm() as s:
            assert await points_service.balance(s, a.id) == 40
            assert await points_service.balance(s, b.id) == 0
            assert await points_service.expiring(s, a.id) == [{"expires_on": date(2026, 12, 31), "points": 40}]
            assert (await ledger.verify(s))["ok"]

    async def test_concurrent_runs_refused(self, sm) -> None:
        async with jobs.job_lock(sm, "jobs.points.expiry"):
            with pytest.raises(Conflict):
                await jobs.run_expiry(sm, today=date(2026, 1, 1))


class TestAccrualJob:
    async def test_accrual_by_tier_and_bill_is_idempotent(self, sm) -> None:
        month = date(2026, 1, 1)
        async with sm.begin() as s:
            await s.execute(text("SELECT ensure_usage_partition(:m)"), {"m": month})
            gold = await create_customer(s, tier="gold", join_date=date(2020, 6, 1))
            star1 = await create_customer(s, tier="star1", join_date=date(2025, 6, 1))
            gone = await create_customer(s, tier="gold", status="churned")
            await create_usage(s, gold.id, month, bill_fen=10000)  # 100 yuan x 2 + 5 years x 5
            await create_usage(s, star1.id, month, bill_fen=5050)  # 50.5 yuan x 1, tenure 0
            await create_usage(s, gone.id, month, bill_fen=10000)
        await jobs.run_accrual(sm, month=month, chunk=1000)
        again = await jobs.run_accrual(sm, month=month, chunk=1000)
        async with sm() as s:
            assert await points_service.balance(s, gold.id) == 225
            assert await points_service.balance(s, star1.id) == 50
            assert await points_service.balance(s, gone.id) == 0
            assert (await points_service.expiring(s, gold.id))[0]["expires_on"] == date(2027, 12, 31)
            assert (await ledger.verify(s))["ok"]
        assert again["customers"] == 0 and again["points"] == 0
