"""The sliding-window reservation SQL, on real Postgres with pinned clocks (no sleeps): a burst
straddling a bucket boundary is still limited, the budget comes back as the window slides,
released slots count no more, a refusal takes nothing, and concurrent callers get exactly N slots."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.auth import ratelimit
from shared.errors import TooManyRequests
from shared.models import RateLimitBucket
from tests.fixtures.db import gather_concurrently

# a bucket boundary for 60 s windows (the epoch second is a multiple of 60)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def limit(n: int = 5, window_s: int = 60) -> ratelimit.Limit:
    return ratelimit.Limit(f"test:{uuid.uuid4().hex}", n, window_s, "slow down")


async def granted(sm, lim: ratelimit.Limit, at: datetime, times: int = 1) -> int:  # type: ignore[no-untyped-def]
    """How many of `times` reservations at `at` got a slot."""
    got = 0
    for _ in range(times):
        try:
            await ratelimit.reserve(sm, [lim], at=at)
            got += 1
        except TooManyRequests:
            pass
    return got


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_burst_straddling_a_boundary_is_still_limited(sm) -> None:
    lim = limit(5)
    assert await granted(sm, lim, at(59), times=5) == 5  # the end of one bucket ...
    assert await granted(sm, lim, at(60.5), times=5) == 0  # ... still counts just after the boundary
    assert await granted(sm, lim, at(61), times=5) == 0  # (a fixed window would grant 5 more here)
    # the window slides: 13 s into the new bucket, 47/60 of the old one is left -> ceil(3.9) = 4 count
    assert await granted(sm, lim, at(73), times=3) == 1
    # two buckets on, the burst is out of the window: the whole budget is back
    assert await granted(sm, lim, at(180), times=6) == 5


async def test_the_budget_returns_gradually_not_all_at_once(sm) -> None:
    lim = limit(4)
    assert await granted(sm, lim, at(0), times=4) == 4
    # carried share of the previous bucket: ceil(4 * (60 - t) / 60) -> 4 at t<15, 3 at 15..29, 2 at 30..44, 1 after
    assert await granted(sm, lim, at(60 + 10), times=2) == 0
    assert await granted(sm, lim, at(60 + 16), times=2) == 1
    assert await granted(sm, lim, at(60 + 31), times=2) == 1
    assert await granted(sm, lim, at(60 + 46), times=2) == 1
    # the next bucket carries the 3 granted in [60, 120): ceil(3 * 59/60) = 3, so one slot
    assert await granted(sm, lim, at(120 + 1), times=3) == 1


async def test_released_slots_do_not_count(sm) -> None:
    lim = limit(3)
    slots = [s for _ in range(3) for s in await ratelimit.reserve(sm, [lim], at=at(5))]
    assert await granted(sm, lim, at(6)) == 0
    await ratelimit.release(sm, slots[:2])  # two attempts succeeded after all
    assert await granted(sm, lim, at(7), times=3) == 2


async def test_a_slot_is_released_from_the_bucket_it_was_taken_in(sm) -> None:
    lim = limit(2)
    [slot] = await ratelimit.reserve(sm, [lim], at=at(59))
    await granted(sm, lim, at(61))  # one slot in the next bucket
    await ratelimit.release(sm, [slot])  # the slow first attempt succeeds after the boundary
    async with sm() as s:
        rows = dict(
            (
                await s.execute(
                    select(RateLimitBucket.window_start, RateLimitBucket.count).where(
                        RateLimitBucket.bucket == lim.bucket
                    )
                )
            ).all()
        )
    assert rows == {at(0): 0, at(60): 1}


async def test_a_refusal_takes_no_slot_anywhere(sm) -> None:
    roomy, full = limit(5), limit(1)
    await ratelimit.reserve(sm, [full], at=at(1))
    with pytest.raises(TooManyRequests) as refused:
        await ratelimit.reserve(sm, [roomy, full], at=at(2))
    assert refused.value.message == "slow down" and refused.value.context["retry_after_s"] == 60
    async with sm() as s:
        counted = await s.scalar(select(RateLimitBucket.count).where(RateLimitBucket.bucket == roomy.bucket))
    assert counted is None  # the roomy limit's slot was rolled back with the refusal


async def test_concurrent_reservations_get_exactly_the_limit(sm) -> None:
    lim = limit(7, window_s=3600)

    async def one(_: int) -> str:
        try:
            await ratelimit.reserve(sm, [lim])
            return "slot"
        except TooManyRequests:
            return "refused"

    assert Counter(await gather_concurrently(40, one)) == {"slot": 7, "refused": 33}
