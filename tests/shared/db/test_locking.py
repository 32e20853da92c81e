"""The one advisory-lock helper: a key is (namespace, key), and a held lock is seen from other
connections for exactly that pair; a session lock admits one holder and is released after."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db.locking import Lock, advisory_lock, lock_held, session_lock

_WAITING = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)")


class TestAdvisoryLock:
    async def test_held_for_exactly_its_namespace_and_key_until_commit(
        self, sm: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sm.begin() as holder:
            await advisory_lock(holder, Lock.ORDERS, 41)
            async with sm() as other:
                assert await lock_held(other, Lock.ORDERS, 41)
                assert not await lock_held(other, Lock.ORDERS, 42)
                assert not await lock_held(other, Lock.TOUCHES, 41)
        async with sm() as other:
            assert not await lock_held(other, Lock.ORDERS, 41)

    async def test_second_transaction_waits_for_the_first(self, sm: async_sessionmaker[AsyncSession]) -> None:
        order: list[str] = []
        first_locked = asyncio.Event()
        release = asyncio.Event()

        async def first() -> None:
            async with sm.begin() as s:
                await advisory_lock(s, Lock.HUNT_PLAY, "7:9")
                first_locked.set()
                await release.wait()
                order.append("first done")

        async def second() -> None:
            await first_locked.wait()
            async with sm.begin() as s:
                waiting = asyncio.create_task(advisory_lock(s, Lock.HUNT_PLAY, "7:9"))
                async with sm() as probe:  # the waiter is queued behind the holder in pg_locks
                    while not waiting.done() and not await probe.scalar(_WAITING):
                        await asyncio.sleep(0.01)
                release.set()
                await waiting
                order.append("second locked")

        await asyncio.gather(first(), second())
        assert order == ["first done", "second locked"]


class TestSessionLock:
    async def test_one_holder_at_a_time_then_free_again(self, engine: AsyncEngine) -> None:
        async with session_lock(engine, Lock.POINTS_JOB, "test") as got:
            assert got
            async with session_lock(engine, Lock.POINTS_JOB, "test") as again:
                assert not again
            async with session_lock(engine, Lock.POINTS_JOB, "other") as other_key:
                assert other_key
        async with session_lock(engine, Lock.POINTS_JOB, "test") as after:
            assert after
