"""Run every domain seeder in `tenure_demo.seeders` in ORDER, each in its own transaction."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.embedded import to_async_url
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.transactions import own_transaction
from shared.settings import Settings
from tenure_demo.generator import load_city
from tenure_demo.seeders import alliance, backoffice, engagement, manager
from tenure_demo.seeders import engine as engine_seeder

# every seeder, listed (a new one is added here), run in ascending ORDER
SEEDERS = sorted((alliance, backoffice, engagement, engine_seeder, manager), key=lambda m: (m.ORDER, m.__name__))


async def run_seeders(sm: async_sessionmaker[AsyncSession]) -> list[str]:
    done = []
    for module in SEEDERS:
        async with own_transaction(sm) as session:
            await module.seed(session)
        done.append(module.__name__.rsplit(".", 1)[1])
    return done


def seed_demo(database_url: str, *, customers: int, progress=print) -> dict:  # type: ignore[no-untyped-def]
    """Load the city into an empty database, then every domain seeder (dev launcher and compose)."""

    result = load_city(database_url, customers=customers, progress=progress)

    async def _seeders() -> list[str]:
        settings = Settings(DATABASE_URL=database_url, statement_timeout_ms=900_000)
        engine = create_engine(settings, process="seed", url=to_async_url(database_url))
        try:
            return await run_seeders(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    result["seeders"] = asyncio.run(_seeders())
    return result
