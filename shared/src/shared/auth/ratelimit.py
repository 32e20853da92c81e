"""Sliding-window limits in Postgres, shared by every worker process.

A limit is "at most N events in any `window_s` seconds", estimated from two fixed buckets: the
current bucket's count plus the previous bucket's count weighted by how much of it still lies
inside the sliding window (rounded up, so a burst just before a bucket boundary still counts in
full just after it).

Callers *reserve* a slot before the work the limit protects (checking a password, evaluating a
coupon code) in ONE statement that increments only while under the limit and says whether the
caller got a slot; concurrent reservations serialise on the bucket row, so a burst of N+k
requests gets exactly N slots. A caller that succeeded gives its slot back (`release`); a failure
keeps it, so the counter counts failures plus attempts in flight. Reservations commit in their own
short transaction, so a failure stays counted even when the request that caused it rolls back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.transactions import own_transaction
from shared.errors import TooManyRequests

# $at: the clock (now() unless a test pins it); cur_start: start of the current bucket;
# carried: the previous bucket's count scaled by its share of the sliding window, rounded up.
_RESERVE = text(
    """
    WITH clock AS (
        SELECT at, to_timestamp(floor(extract(epoch FROM at) / CAST(:w AS integer)) * CAST(:w AS integer)) AS cur_start
        FROM (SELECT coalesce(CAST(:at AS timestamptz), now()) AS at) AS t
    ), carried AS (
        SELECT c.cur_start,
               CAST(ceil(coalesce(p.count, 0) * (1 - extract(epoch FROM c.at - c.cur_start) / CAST(:w AS integer))) AS integer) AS n
        FROM clock AS c
        LEFT JOIN rate_limit_buckets AS p
          ON p.bucket = :bucket AND p.window_start = c.cur_start - make_interval(secs => CAST(:w AS double precision))
    )
    INSERT INTO rate_limit_buckets AS b (bucket, window_start, count)
    SELECT :bucket, cur_start, 1 FROM carried WHERE n < CAST(:limit AS integer)
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = b.count + 1
    WHERE b.count + (SELECT n FROM carried) < CAST(:limit AS integer)
    RETURNING b.window_start
    """
)
_RELEASE = text(
    "UPDATE rate_limit_buckets SET count = count - 1 WHERE bucket = :bucket AND window_start = :ws AND count > 0"
)


def key(kind: str, *parts: str) -> str:
    """`kind:<digest of parts>`: bounded length, and no phone, username or address stored in clear."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `limit` events per sliding `window_s` for `bucket`; `detail` is the 429 message."""

    bucket: str
    limit: int
    window_s: int
    detail: str


@dataclass(frozen=True, slots=True)
class Slot:
    """A granted reservation: the bucket row it was counted in, so `release` undoes exactly it."""

    bucket: str
    window_start: datetime


async def _reserve(s: AsyncSession, limit: Limit, at: datetime | None) -> Slot | None:
    row = (
        await s.execute(_RESERVE, {"bucket": limit.bucket, "w": limit.window_s, "limit": limit.limit, "at": at})
    ).first()
    return Slot(limit.bucket, row[0]) if row else None


async def reserve(
    sm: async_sessionmaker[AsyncSession], limits: Sequence[Limit], *, at: datetime | None = None
) -> list[Slot]:
    """Take one slot under every limit, or none: raises TooManyRequests (nothing counted) if any is full.

    All slots are taken in one transaction, in bucket order (so two callers never wait on each
    other in opposite orders); a refusal rolls the others back.
    """
    ordered = sorted(limits, key=lambda lim: lim.bucket)
    slots: list[Slot] = []
    async with own_transaction(sm) as s:  # an exception inside rolls every slot taken so far back
        for limit in ordered:
            slot = await _reserve(s, limit, at)
            if slot is None:
                raise TooManyRequests(limit.detail, retry_after_s=_retry_after(limit))
            slots.append(slot)
    return slots


async def release(sm: async_sessionmaker[AsyncSession], slots: Sequence[Slot]) -> None:
    """Give slots back (the attempt succeeded, so it must not count as a failure)."""
    if not slots:
        return
    async with own_transaction(sm) as s:
        for slot in sorted(slots, key=lambda sl: sl.bucket):
            await s.execute(_RELEASE, {"bucket": slot.bucket, "ws": slot.window_start})


def _retry_after(limit: Limit) -> int:
    """A slot frees up about every window/limit seconds as the window slides."""
    return max(1, -(-limit.window_s // max(limit.limit, 1)))
