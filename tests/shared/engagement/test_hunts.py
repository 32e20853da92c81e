"""Treasure hunts: funded pools, secure draws, budgets that never overpay, limits, closing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shared.engagement import hunts
from shared.errors import Conflict, Gone, InsufficientFunds, NotFound, TooManyRequests, Unprocessable
from shared.ledger import service as ledger
from shared.models import AccountKind, Asset, HuntPrize
from shared.points import service as points_service
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_customer import create_hunt

NOW = datetime.now(UTC)
TODAY = date.today()


class TestDraw:
    def test_weights_partition_the_roll(self) -> None:
        a = HuntPrize(id=1, weight=100)
        b = HuntPrize(id=2, weight=50)
        assert hunts.draw([a, b], 0) is a and hunts.draw([a, b], 99) is a
        assert hunts.draw([a, b], 100) is b and hunts.draw([a, b], 149) is b
        assert hunts.draw([a, b], 150) is None
        assert all(hunts.draw([a, b]) in (a, b, None) for _ in range(100))


class TestHunt:
    async def test_creation_funds_pool_in_ledger(self, db) -> None:
        hunt, _ = await create_hunt(
            db, prizes=[hunts.PrizeSpec("points", 10, 5, 1000), hunts.PrizeSpec("data_mb", 500, 2, 1000)]
        )
        prizes = (
            await db.scalars(HuntPrize.__table__.select().where(HuntPrize.hunt_id == hunt.id).order_by(HuntPrize.id))
        ).all()
        balances = sorted(
            [
                await ledger.balance_of(db, asset=Asset.POINTS, kind=AccountKind.PRIZE_POOL, owner_id=prizes[0]),
                await ledger.balance_of(db, asset=Asset.DATA, kind=AccountKind.PRIZE_POOL, owner_id=prizes[1]),
            ]
        )
        assert balances == [50, 1000]

    async def test_win_pays_from_pool_and_records_play(self, db) -> None:
        c = await create_customer(db)
        hunt, code = await create_hunt(db, prizes=[hunts.PrizeSpec("points", 10, 1, 1_000_000)])
        play = await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="p1", now=NOW, today=TODAY)
        assert play.result["won"] and play.result["amount"] == 10
        assert await points_service.balance(db, c.id) == 10
        again = await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="p1", now=NOW, today=TODAY)
        assert again.id == play.id
        empty = await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="p2", now=NOW, today=TODAY)
        assert empty.result == {"won": False}  # budget of 1 spent

    async def test_daily_limit_unknown_spot_and_ended_hunt(self, db) -> None:
        c = await create_customer(db)
        hunt, code = await create_hunt(db, daily_play_limit=2, prizes=[])
        for k in ("a", "b"):
            await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key=k, now=NOW, today=TODAY)
        with pytest.raises(TooManyRequests):
            await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="c", now=NOW, today=TODAY)
        with pytest.raises(NotFound):
            await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code="nope", key="d", now=NOW, today=TODAY)
        with pytest.raises(Gone):
            await hunts.play(
                db,
                hunt_id=hunt.id,
                customer_id=c.id,
                spot_code=code,
                key="e",
                now=NOW + timedelta(days=30),
                today=TODAY,
            )

    async def test_close_returns_unspent_budget(self, db) -> None:
        hunt, _ = await create_hunt(db, prizes=[hunts.PrizeSpec("airtime_fen", 200, 3, 1000)])
        prize_id = await db.scalar(
            HuntPrize.__table__.select().with_only_columns(HuntPrize.id).where(HuntPrize.hunt_id == hunt.id)
        )
        await hunts.close_hunt(db, hunt_id=hunt.id, actor="test")
        assert await ledger.balance_of(db, asset=Asset.AIRTIME, kind=AccountKind.PRIZE_POOL, owner_id=prize_id) == 0
        assert (await ledger.verify(db))["ok"]

    async def test_pool_holding_less_than_remaining_refuses_the_win(self, db) -> None:
        c = await create_customer(db)
        hunt, code = await create_hunt(db, prizes=[hunts.PrizeSpec("points", 10, 2, 1_000_000)])
        prize = await db.scalar(select(HuntPrize).where(HuntPrize.hunt_id == hunt.id))
        pool = await hunts.pool_account(db, prize)
        await ledger.transfer(
            db,
            key=f"drain:{prize.id}",
            kind="test",
            asset=Asset.POINTS,
            from_account=pool,
            to_account=await ledger.system_account(db, "points:issuance"),
            amount=15,
        )
        with pytest.raises(InsufficientFunds):  # 5 left for a prize of 10: nothing is paid
            await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="p1", now=NOW, today=TODAY)

    async def test_win_whose_ledger_key_was_posted_before_pays_nothing(self, db) -> None:
        c = await create_customer(db)
        hunt, code = await create_hunt(db, prizes=[hunts.PrizeSpec("points", 10, 2, 1_000_000)])
        await ledger.transfer(
            db,
            key=f"hunt_win:hunt:{hunt.id}:{c.id}:p1",
            kind="test",
            asset=Asset.POINTS,
            from_account=await ledger.system_account(db, "points:issuance"),
            to_account=await ledger.customer_account(db, c.id),
            amount=1,
        )
        with pytest.raises(Conflict):
            await hunts.play(db, hunt_id=hunt.id, customer_id=c.id, spot_code=code, key="p1", now=NOW, today=TODAY)


class TestAddingToAHunt:
    async def test_closed_hunt_odds_and_unknown_merchant_refused(self, db) -> None:
        hunt, _ = await create_hunt(db, prizes=[hunts.PrizeSpec("points", 10, 5, 600_000)])
        with pytest.raises(Unprocessable):
            await hunts.add_prize_to_hunt(
                db, hunt_id=hunt.id, spec=hunts.PrizeSpec("points", 1, 1, 400_001), actor="test"
            )
        _, prize = await hunts.add_prize_to_hunt(
            db, hunt_id=hunt.id, spec=hunts.PrizeSpec("points", 1, 1, 400_000), actor="test"
        )
        assert prize.weight == 400_000
        with pytest.raises(NotFound):
            await hunts.add_prize_to_hunt(
                db, hunt_id=2_000_000_000, spec=hunts.PrizeSpec("points", 1, 1, 1), actor="test"
            )
        with pytest.raises(NotFound):
            await hunts.add_spot(db, hunt=hunt, spec=hunts.SpotSpec(kind="merchant_code", merchant_id=2_000_000_000))
        await hunts.close_hunt(db, hunt_id=hunt.id, actor="test")
        with pytest.raises(Gone):
            await hunts.add_prize_to_hunt(db, hunt_id=hunt.id, spec=hunts.PrizeSpec("points", 1, 1, 0), actor="test")

    async def test_concurrent_additions_keep_odds_within_100_percent(self, patient_sm) -> None:
        async with patient_sm.begin() as s:
            hunt, _ = await create_hunt(s, prizes=[])

        async def add(i: int) -> int:
            async with patient_sm.begin() as s:
                _, prize = await hunts.add_prize_to_hunt(
                    s, hunt_id=hunt.id, spec=hunts.PrizeSpec("points", 1, 1, 300_000), actor=f"test-{i}"
                )
                return prize.id

        results = await gather_concurrently(6, add)
        assert sum(isinstance(r, int) for r in results) == 3, results
        assert all(isinstance(r, (int, Unprocessable)) for r in results), results
        async with patient_sm() as s:
            total = await s.scalar(select(func.sum(HuntPrize.weight)).where(HuntPrize.hunt_id == hunt.id))
        assert total == 900_000
