"""A committing sessionmaker with a small, patient pool for this package's concurrency tests.

The machine is shared and slow at times: with the default 5 s pool timeout, requests queued
for a connection would fail with a pool timeout instead of exercising the race under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.engine import create_engine, create_sessionmaker
from shared.settings import Settings


@pytest.fixture(scope="module")
async def patient_sm(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(
        settings.model_copy(update={"pool_size": 10, "max_overflow": 0, "pool_timeout_s": 120.0}),
        process="tests.patient",
    )
    yield create_sessionmaker(engine)
    await engine.dispose()
