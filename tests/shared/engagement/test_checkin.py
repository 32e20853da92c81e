"""Daily check-in: one credit per local day, streaks, rewards from the rules, make-up."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.engagement import checkin
from shared.errors import Conflict, IdempotencyKeyReused, InsufficientFunds
from shared.ledger import service as ledger
from shared.points import rules
from shared.points import service as points_service
from shared.programme import settings as programme_settings
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_customer import give_points

DAY = date(2026, 3, 10)


class TestCheckIn:
    async def test_first_checkin_credits_reward_with_expiry(self, db) -> None:
        c = await create_customer(db)
        res = await checkin.check_in(db, customer_id=c.id, day=DAY)
        assert (res.streak, res.points, res.balance) == (1, 5, 5)
        assert await points_service.balance(db, c.id) == 5
        assert await points_service.expiring(db, c.id) == [{"expires_on": date(2027, 12, 31), "points": 5}]

    async def test_second_checkin_same_day_refused(self, db) -> None:
        c = await create_customer(db)
        await checkin.check_in(db, customer_id=c.id, day=DAY)
        with pytest.raises(Conflict, match="already checked in"):
            await checkin.check_in(db, customer_id=c.id, day=DAY)
        assert await points_service.balance(db, c.id) == 5

    async def test_streak_grows_pays_day_seven_and_breaks_on_missed_day(self, db) -> None:
        c = await create_customer(db)
        paid = [(await checkin.check_in(db, customer_id=c.id, day=DAY + timedelta(days=i))).points for i in range(8)]
        assert paid == [5, 5, 5, 10, 5, 5, 30, 5]
        res = await checkin.check_in(db, customer_id=c.id, day=DAY + timedelta(days=9))  # day 8 missed
        assert res.streak == 1

    async def test_rewards_follow_published_rules(self, db) -> None:
        c = await create_customer(db)
        await programme_settings.put(db, programme_settings.CHECKIN_RULES, {"rewards": [1, 2]}, staff_id=None)
        await programme_settings.put(
            db, programme_settings.POINTS_EXPIRY, {"mode": "rolling_months", "months": 3}, staff_id=None
        )
        first = await checkin.check_in(db, customer_id=c.id, day=DAY)
        second = await checkin.check_in(db, customer_id=c.id, day=DAY + timedelta(days=1))
        assert (first.points, second.points) == (1, 2)
        assert await points_service.expiring(db, c.id) == [{"expires_on": date(2026, 6, 30), "points": 3}]

    async def test_idempotent_replay_returns_stored_body(self, db) -> None:
        c = await create_customer(db)
        idem = checkin.Idem(f"customer:{c.id}", "key-00000001", "h" * 64)
        first = await checkin.check_in(db, customer_id=c.id, day=DAY, idem=idem)
        again = await checkin.check_in(db, customer_id=c.id, day=DAY + timedelta(days=1), idem=idem)
        assert again.replayed and again.body == first.body
        assert await points_service.balance(db, c.id) == 5
        with pytest.raises(IdempotencyKeyReused):
            await checkin.check_in(db, customer_id=c.id, day=DAY, idem=checkin.Idem(idem.principal, idem.key, "x" * 64))

    async def test_sql_expiry_matches_python_rule(self, db) -> None:
        for rule in ({"mode": "end_of_year", "years_after": 2}, {"mode": "rolling_months", "months": 13}):
            await programme_settings.put(db, programme_settings.POINTS_EXPIRY, rule, staff_id=None)
            for day in (date(2026, 1, 31), date(2026, 12, 31), date(2028, 2, 29)):
                c = await create_customer(db)
                await checkin.check_in(db, customer_id=c.id, day=day)
                assert (await points_service.expiring(db, c.id))[0]["expires_on"] == rules.expires_on(rule, day)


class TestMakeUp:
    async def test_make_up_restores_streak_and_charges_cost(self, db) -> None:
        c = await create_customer(db)
        today = DAY
        await give_points(db, c.id, 100)
        await checkin.check_in(db, customer_id=c.id, day=today - timedelta(days=3))
        await checkin.check_in(db, customer_id=c.id, day=today - timedelta(days=1))
        out = await checkin.make_up(db, customer_id=c.id, day=today - timedelta(days=2), today=today, key="m1")
        assert out["streak"] == 2 and out["cost_points"] == 20 and out["current_streak"] == 3
        res = await checkin.check_in(db, customer_id=c.id, day=today)
        assert res.streak == 4 and res.points == 10
        assert await points_service.balance(db, c.id) == 100 + 5 + 5 + 5 - 20 + 10

    async def test_make_up_limits(self, db) -> None:
        c = await create_customer(db)
        with pytest.raises(InsufficientFunds):
            async with db.begin_nested():  # a request would roll back; so does this savepoint
                await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=1), today=DAY, key="m")
        await give_points(db, c.id, 100)
        with pytest.raises(Exception, match="cannot be made up"):
            await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=9), today=DAY, key="m")
        await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=1), today=DAY, key="a")
        with pytest.raises(Conflict, match="already checked in"):
            await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=1), today=DAY, key="b")
        await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=2), today=DAY, key="c")
        with pytest.raises(Conflict, match="no make-up"):
            await checkin.make_up(db, customer_id=c.id, day=DAY - timedelta(days=3), today=DAY, key="d")


class TestConcurrency:
    async def test_50_concurrent_checkins_credit_once(self, patient_sm) -> None:
        """Service level (the 200-request version runs through HTTP in tests/services/customer_app)."""
        async with patient_sm.begin() as s:
            c = await create_customer(s)

        async def one(i: int):  # type: ignore[no-untyped-def]
            async with patient_sm.begin() as s:
                return await checkin.check_in(s, customer_id=c.id, day=DAY)

        results = await gather_concurrently(50, one)
        ok = [r for r in results if isinstance(r, checkin.CheckInResult)]
        assert len(ok) == 1, [r for r in results if not isinstance(r, (checkin.CheckInResult, Conflict))][:3]
        assert all(isinstance(r, Conflict) for r in results if r not in ok)
        async with patient_sm() as s:
            assert await points_service.balance(s, c.id) == 5
            assert (await ledger.verify(s))["ok"]
