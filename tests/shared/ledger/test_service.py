"""The ledger posts balanced transactions once, refuses overdrafts and cannot be edited."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db.engine import create_engine, create_sessionmaker
from shared.errors import IdempotencyKeyReused, InsufficientFunds
from shared.ledger import service as ledger
from shared.ledger.errors import UnbalancedTransaction
from shared.models import Asset
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import create_customer


class TestPost:
    async def test_transfer_moves_and_balances(self, db) -> None:
        c = await create_customer(db)
        issuance = await ledger.system_account(db, "points:issuance")
        acc = await ledger.customer_account(db, c.id)
        posted = await ledger.transfer(
            db,
            key=f"t-{c.id}",
            kind="grant",
            asset=Asset.POINTS,
            from_account=issuance,
            to_account=acc,
            amount=120,
            customer_id=c.id,
        )
        assert posted.created and posted.balances[acc] == 120
        assert await ledger.balance_of(db, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 120

    async def test_replay_returns_first_and_moves_nothing(self, db) -> None:
        c = await create_customer(db)
        issuance = await ledger.system_account(db, "points:issuance")
        acc = await ledger.customer_account(db, c.id)
        first = await ledger.transfer(
            db, key=f"r-{c.id}", kind="grant", asset=Asset.POINTS, from_account=issuance, to_account=acc, amount=50
        )
        again = await ledger.transfer(
            db, key=f"r-{c.id}", kind="grant", asset=Asset.POINTS, from_account=issuance, to_account=acc, amount=50
        )
        assert (again.txn_id, again.created) == (first.txn_id, False)
        assert await ledger.balance_of(db, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 50
        with pytest.raises(IdempotencyKeyReused):
            await ledger.transfer(
                db, key=f"r-{c.id}", kind="grant", asset=Asset.POINTS, from_account=issuance, to_account=acc, amount=51
            )

    async def test_overdraft_refused(self, db) -> None:
        c = await create_customer(db)
        sink = await ledger.system_account(db, "points:redemption")
        acc = await ledger.customer_account(db, c.id)
        with pytest.raises(InsufficientFunds):
            await ledger.transfer(
                db, key=f"o-{c.id}", kind="spend", asset=Asset.POINTS, from_account=acc, to_account=sink, amount=1
            )

    async def test_overdraft_says_what_is_missing_not_which_account(self, db) -> None:
        c = await create_customer(db)
        issuance = await ledger.system_account(db, "points:issuance")
        acc = await ledger.customer_account(db, c.id)
        await ledger.transfer(
            db, key=f"g-{c.id}", kind="grant", asset=Asset.POINTS, from_account=issuance, to_account=acc, amount=40
        )
        with pytest.raises(InsufficientFunds) as refused:
            await ledger.transfer(
                db, key=f"s-{c.id}", kind="spend", asset=Asset.POINTS, from_account=acc, to_account=issuance, amount=100
            )
        assert refused.value.context == {"asset": "points", "balance": 40, "required": 100, "shortfall": 60}

    async def test_an_operator_budget_short_names_only_the_asset(self, db) -> None:
        c = await create_customer(db)
        pool = await ledger.owner_account(db, asset=Asset.DATA, kind="prize_pool", owner_id=c.id + 10**9)
        dest = await ledger.customer_account(db, c.id, Asset.DATA)
        with pytest.raises(InsufficientFunds) as refused:
            await ledger.transfer(
                db, key=f"p-{c.id}", kind="prize", asset=Asset.DATA, from_account=pool, to_account=dest, amount=5
            )
        assert refused.value.context == {"asset": "data_mb"}

    async def test_unbalanced_legs_rejected(self, db) -> None:
        with pytest.raises(UnbalancedTransaction):
            await ledger.post(
                db, key="u-1", kind="x", legs=[ledger.Leg(1, Asset.POINTS, 5), ledger.Leg(2, Asset.POINTS, -4)]
            )


class TestConcurrentSpend:
    async def test_100_spends_against_balance_for_10(self, settings) -> None:
        # its own small, patient pool: 100 spends queue for 10 connections instead of timing out
        engine = create_engine(
            settings.model_copy(update={"pool_size": 10, "max_overflow": 0, "pool_timeout_s": 120.0}),
            process="tests.ledger",
        )
        try:
            await self._race(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    async def _race(self, sm) -> None:
        async with sm.begin() as s:
            c = await create_customer(s)
            issuance = await ledger.system_account(s, "points:issuance")
            acc = await ledger.customer_account(s, c.id)
            sink = await ledger.system_account(s, "points:redemption")
            await ledger.transfer(
                s,
                key=f"seed-{c.id}",
                kind="grant",
                asset=Asset.POINTS,
                from_account=issuance,
                to_account=acc,
                amount=100,
            )

        async def spend(i: int) -> bool:
            async with sm.begin() as s:
                await ledger.transfer(
                    s,
                    key=f"spend-{c.id}-{i}",
                    kind="spend",
                    asset=Asset.POINTS,
                    from_account=acc,
                    to_account=sink,
                    amount=10,
                )
            return True

        results = await gather_concurrently(100, spend)
        assert sum(r is True for r in results) == 10
        assert all(r is True or isinstance(r, InsufficientFunds) for r in results), [
            r for r in results if r is not True
        ][:3]
        async with sm() as s:
            assert await ledger.balance_of(s, asset=Asset.POINTS, kind="customer", owner_id=c.id) == 0
            report = await ledger.verify(s)
        assert report["ok"], report


class TestAppendOnly:
    async def test_entries_cannot_be_updated_or_deleted(self, sm) -> None:
        async with sm.begin() as s:
            c = await create_customer(s)
            issuance = await ledger.system_account(s, "points:issuance")
            acc = await ledger.customer_account(s, c.id)
            posted = await ledger.transfer(
                s, key=f"ao-{c.id}", kind="grant", asset=Asset.POINTS, from_account=issuance, to_account=acc, amount=5
            )
        for sql in (
            "UPDATE ledger_entries SET amount = amount * 2 WHERE txn_id = :t",
            "DELETE FROM ledger_entries WHERE txn_id = :t",
            "UPDATE ledger_txns SET kind = 'x' WHERE id = :t",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with sm.begin() as s:
                    await s.execute(text(sql), {"t": posted.txn_id})

    async def test_unbalanced_raw_insert_fails_at_commit(self, sm) -> None:
        async with sm.begin() as s:
            c = await create_customer(s)
            acc = await ledger.customer_account(s, c.id)
        with pytest.raises(DBAPIError, match="does not balance"):
            async with sm.begin() as s:
                txn = await s.scalar(
                    text("INSERT INTO ledger_txns (idempotency_key, kind, memo) VALUES (:k, 'raw', '{}') RETURNING id"),
                    {"k": f"raw-{c.id}"},
                )
                await s.execute(
                    text("INSERT INTO ledger_entries (txn_id, account_id, asset, amount) VALUES (:t, :a, 'points', 7)"),
                    {"t": txn, "a": acc},
                )
