"""A burst of check-ins by one customer waits for pooled connections and answers 200/409, never 5xx.

The app runs with the production pool settings (10 connections, no overflow, the default wait).
While another transaction holds the row the check-in credits (its issuance shard), the first
check-in waits on that lock, nine more wait on the first, and forty wait for a connection. The
lock waiters give up at lock_timeout (409 "retry"); the pool's wait must outlast that, or the
forty queued behind them get 503s (they did: pool_timeout was equal to lock_timeout).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from customer_app.app import create_app
from shared.engagement import checkin as checkin_service
from shared.points import service as points_service
from shared.settings import Settings
from tests.fixtures.factories import create_customer
from tests.services.customer_app.conftest import idem


@pytest.fixture
async def prod_pool_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(Settings(DATABASE_URL=settings.database_url, env="test", access_log=False))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=120) as c:
            yield c


def test_the_pool_waits_longer_than_a_lock() -> None:
    defaults = Settings()
    assert defaults.pool_timeout_s > defaults.lock_timeout_ms / 1000
    assert (defaults.pool_size, defaults.max_overflow) == (10, 0)


async def test_fifty_concurrent_checkins_of_one_customer_never_5xx(prod_pool_client, tokens, sm, engine) -> None:  # type: ignore[no-untyped-def]
    defaults = Settings()
    async with sm.begin() as s:
        customer = await create_customer(s)
        await checkin_service.ensure_shards(s)
    h = tokens.customer(customer.id)
    release = asyncio.Event()

    async def hold_the_shard() -> None:
        async with engine.connect() as conn, conn.begin():
            await conn.execute(
                text("SELECT 1 FROM ledger_accounts WHERE code = :c FOR UPDATE"),
                {"c": checkin_service.shard_code(customer.id)},
            )
            await release.wait()

    holder = asyncio.create_task(hold_the_shard())
    await asyncio.sleep(0.2)  # the holder has its lock
    burst = [prod_pool_client.post("/v1/checkin", headers=idem(h, f"burst-{customer.id}-{i}")) for i in range(50)]
    # release a second after the first lock waiters gave up: longer than the old pool wait
    asyncio.get_running_loop().call_later(defaults.lock_timeout_ms / 1000 + 1, release.set)
    responses = await asyncio.gather(*burst)
    await holder
    statuses = Counter(r.status_code for r in responses)
    assert all(code in (200, 409) for code in statuses), [
        (r.status_code, r.text[:200]) for r in responses if r.status_code >= 500
    ]
    assert statuses[200] == 1
    async with sm() as s:
        assert (
            await points_service.balance(s, customer.id)
            == next(r for r in responses if r.status_code == 200).json()["balance"]
        )
