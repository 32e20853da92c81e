"""Fixed-window counters in Postgres, shared by every worker process.

Each call runs in its own short transaction, so a failure is counted even when the request that
caused it rolls back.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from shared.db.transactions import own_transaction

_HIT = text(
    """
    INSERT INTO rate_limit_buckets (bucket, window_start, count)
    VALUES (:bucket, to_timestamp(floor(extract(epoch FROM now()) / :w) * :w), 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_buckets.count + 1
    RETURNING count
    """
)
_COUNT = text(
    """
    SELECT coalesce(sum(count), 0) FROM rate_limit_buckets
    WHERE bucket = :bucket AND window_start = to_timestamp(floor(extract(epoch FROM now()) / :w) * :w)
    """
)


async def hit(sm: async_sessionmaker[AsyncSession], bucket: str, *, window_s: int) -> int:
    """Count one event in the current window and return the window's count."""
    async with own_transaction(sm) as s:
        return int((await s.execute(_HIT, {"bucket": bucket, "w": window_s})).scalar_one())


async def current(sm: async_sessionmaker[AsyncSession], bucket: str, *, window_s: int) -> int:
    async with sm() as s:
        return int((await s.execute(_COUNT, {"bucket": bucket, "w": window_s})).scalar_one())


async def reset(sm: async_sessionmaker[AsyncSession], bucket: str) -> None:
    async with own_transaction(sm) as s:
        await s.execute(text("DELETE FROM rate_limit_buckets WHERE bucket = :b"), {"b": bucket})
