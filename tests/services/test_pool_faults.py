"""Whatever fails on a pooled connection, the connection goes back clean or is discarded (issue 18).

The customer app runs here with the production pool (10 connections, no overflow). The damage a
connection left mid-protocol does shows within the test because the connections being damaged get
a short statement_timeout first: asyncpg leaves the server inside an unfinished extended-query
sequence when it refuses to encode an argument, the pending statement timeout then cancels the
next request's first statement (503), and a cancelled BEGIN leaves asyncpg's transaction mark
behind, after which every transaction on that connection is a SAVEPOINT outside a transaction
block (500, for good).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from customer_app.app import create_app
from shared.settings import Settings
from tests.fixtures.db import stray_backends
from tests.fixtures.factories import create_customer
from tests.fixtures.factories_customer import give_points
from tests.services.customer_app.conftest import assert_error, idem

SHORT_TIMEOUT = "SET statement_timeout = 300"  # on the connection about to be damaged only
APP_NAME = "test.customer-app"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    prod_pool = Settings(DATABASE_URL=settings.database_url, env="test", access_log=False)
    application = create_app(prod_pool)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:
        yield c


async def customers_with_points(sm, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        ids = [(await create_customer(s)).id for _ in range(n)]
        for cid in ids:
            await give_points(s, cid, 100)
    return ids


async def normal_burst(client: httpx.AsyncClient, tokens, ids: list[int], tag: str) -> Counter[int]:  # type: ignore[no-untyped-def]
    """Two concurrent ordinary requests per customer (50 for 25): reads (autocommit), check-ins (raw
    driver, once a day: give each burst its own customers), ledger writes (BEGIN)."""
    calls = []
    for n, cid in enumerate(ids):
        h = tokens.customer(cid)
        calls.append(client.get("/v1/checkin", headers=h))
        if n % 2:
            calls.append(
                client.post("/v1/points/redeem-airtime", headers=idem(h, f"{tag}-redeem-{cid}"), json={"points": 1})
            )
        else:
            calls.append(client.post("/v1/checkin", headers=idem(h, f"{tag}-checkin-{cid}")))
    responses = await asyncio.gather(*calls)
    bad = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert not bad, bad
    return Counter(r.status_code for r in responses)


async def test_values_the_driver_refuses_leave_no_poisoned_connection(app, client, tokens, sm, engine) -> None:  # type: ignore[no-untyped-def]
    """50 statements whose argument asyncpg cannot encode (past bigint: it passed no schema here, the
    session is called directly), spread over the whole pool; then ordinary traffic twice."""
    ids = await customers_with_points(sm, 50)

    async def refused(i: int) -> None:
        async with app.state.read_sessionmaker() as session:
            await session.execute(text(SHORT_TIMEOUT))
            with pytest.raises(DBAPIError):
                await session.execute(text("SELECT id FROM customers WHERE id = :id"), {"id": 2**70 + i})

    await asyncio.gather(*[refused(i) for i in range(50)])
    await asyncio.sleep(0.6)  # let a pending statement timeout expire
    assert await stray_backends(engine, APP_NAME) == []
    assert await normal_burst(client, tokens, ids[:25], "one") == {200: 50}
    assert await normal_burst(client, tokens, ids[25:], "two") == {200: 50}
    assert await stray_backends(engine, APP_NAME) == []


async def test_a_transaction_sqlalchemy_does_not_know_of_is_not_reused(app, client, tokens, sm, engine) -> None:  # type: ignore[no-untyped-def]
    """A transaction opened behind SQLAlchemy's back (as asyncpg's own bookkeeping can) is not
    handed to the next request: without the check-in hook it stayed open and the next writes failed."""
    ids = await customers_with_points(sm, 25)
    for _ in range(10):
        async with app.state.engine.connect() as conn:
            await (await conn.get_raw_connection()).driver_connection.execute("BEGIN")
    assert await normal_burst(client, tokens, ids, "three") == {200: 50}
    assert await stray_backends(engine, APP_NAME) == []


async def test_a_failed_begin_leaves_no_savepoint_behind(app, client, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    """A connection left mid-sequence by someone else (a bare Parse/Describe/Flush) meets the pending
    statement timeout with the next BEGIN. That request is a 503; the connection is then discarded,
    where asyncpg's stale transaction mark used to turn every later transaction on it into a
    SAVEPOINT outside a transaction block (500, for good)."""
    ids = await customers_with_points(sm, 26)
    async with app.state.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute(SHORT_TIMEOUT)
        await driver.prepare("SELECT 1")
    await asyncio.sleep(0.6)
    h = tokens.customer(ids[-1])
    first = await client.post(
        "/v1/points/redeem-airtime", headers=idem(h), json={"points": 1}
    )  # the only pooled connection
    assert assert_error(first, 503)["error"] == "timeout"
    assert await normal_burst(client, tokens, ids[:25], "after-begin") == {200: 50}


def _fail_once(monkeypatch: pytest.MonkeyPatch, method: str, victims: list[asyncpg.Connection]) -> None:
    """Make the next call of asyncpg.Connection.<method> fail as seen while backends were terminated."""
    original = getattr(asyncpg.Connection, method)

    async def failing(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        if not victims:
            victims.append(self)
            raise asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, method, failing)


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("prepare", "GET", "/v1/points/history"),  # through SQLAlchemy's session
        ("fetch", "GET", "/v1/checkin"),  # a native read (shared.db.native.read_connection)
        ("fetchrow", "POST", "/v1/checkin"),  # the native check-in statement
    ],
)
async def test_internal_client_error_is_503_and_the_connection_is_discarded(  # type: ignore[no-untyped-def]
    client, tokens, sm, monkeypatch, method: str, verb: str, path: str
) -> None:
    (cid,) = await customers_with_points(sm, 1)
    assert (await client.get("/v1/points", headers=tokens.customer(cid))).status_code == 200  # a pooled connection
    victims: list[asyncpg.Connection] = []
    _fail_once(monkeypatch, method, victims)
    r = await client.request(verb, path, headers=idem(tokens.customer(cid)))
    assert assert_error(r, 503)["error"] == "service_unavailable"
    assert r.headers["Retry-After"]
    assert len(victims) == 1 and victims[0].is_closed()
    ok = await asyncio.gather(*[client.request(verb, path, headers=idem(tokens.customer(cid))) for _ in range(10)])
    assert {x.status_code for x in ok} <= {200, 409} and any(x.status_code == 200 for x in ok)


async def test_backends_terminated_during_requests_give_503_never_500(app, client, tokens, sm, engine) -> None:  # type: ignore[no-untyped-def]
    ids = await customers_with_points(sm, 50)
    seen: Counter[int] = Counter()

    async def killer() -> None:
        for _ in range(5):
            await asyncio.sleep(0.02)
            async with engine.connect() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name = :app"
                    ),
                    {"app": APP_NAME},
                )

    async def traffic(round_: int) -> None:
        calls = []
        for cid in ids[:25]:
            h = tokens.customer(cid)
            calls += [
                client.get("/v1/points", headers=h),
                client.post("/v1/points/redeem-airtime", headers=idem(h), json={"points": 1}),
            ]
        for r in await asyncio.gather(*calls):
            seen[r.status_code] += 1
            assert r.status_code in (200, 503), (r.status_code, r.text[:300])

    await asyncio.gather(killer(), *[traffic(n) for n in range(3)])
    assert await normal_burst(client, tokens, ids[25:], "after-kills") == {200: 50}
    assert await stray_backends(engine, APP_NAME) == []
