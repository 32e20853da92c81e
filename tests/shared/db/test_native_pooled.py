"""`shared.db.native.pooled`: a driver connection straight from the engine's pool goes back for
reuse after a clean statement or a server error, and is discarded when the driver gave up
mid-conversation (the poisoned-connection case of shared.db.faults)."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import native
from shared.db.engine import create_engine
from shared.settings import Settings


@pytest.fixture
async def one_connection(settings: Settings):  # type: ignore[no-untyped-def]
    eng = create_engine(
        Settings(DATABASE_URL=settings.database_url, env="test", pool_size=1, max_overflow=0), process="t"
    )
    yield eng
    await eng.dispose()


async def _pid(engine) -> int:  # type: ignore[no-untyped-def]
    async with native.pooled(engine) as driver:
        return int(await driver.fetchval("SELECT pg_backend_pid()"))


async def test_a_clean_or_server_refused_statement_returns_the_connection(one_connection) -> None:
    first = await _pid(one_connection)
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with native.pooled(one_connection) as driver:
            await driver.fetchval("SELECT 1 / 0")
    assert await _pid(one_connection) == first  # the server answered: the protocol is in step
    async with native.pooled(one_connection) as driver:
        assert not driver.is_in_transaction()  # statements autocommit


async def test_a_driver_side_failure_discards_the_connection(one_connection) -> None:
    first = await _pid(one_connection)
    with pytest.raises(asyncpg.DataError):  # asyncpg refuses to encode: the server awaits a Bind
        async with native.pooled(one_connection) as driver:
            await driver.fetchval("SELECT CAST($1 AS int4)", 2**40)
    after = await _pid(one_connection)
    assert after != first
    async with native.pooled(one_connection) as driver:
        assert await driver.fetchval("SELECT 41 + 1") == 42
