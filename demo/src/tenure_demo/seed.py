"""Run every domain seeder in `tenure_demo.seeders` in ORDER, each in its own transaction."""
from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_demo import seeders


async def run_seeders(sm: async_sessionmaker[AsyncSession]) -> list[str]:
    modules = []
    for info in pkgutil.iter_modules(seeders.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{seeders.__name__}.{info.name}")
        if hasattr(module, "seed"):
            modules.append(module)
    modules.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    done = []
    for module in modules:
        async with sm.begin() as session:
            await module.seed(session)
        done.append(module.__name__.rsplit(".", 1)[1])
    return done


def seed_demo(database_url: str, *, customers: int, progress=print) -> dict:  # type: ignore[no-untyped-def]
    """Load the city into an empty database, then every domain seeder (dev launcher and compose)."""
    import asyncio

    from shared.db.embedded import to_async_url
    from shared.db.engine import create_engine, create_sessionmaker
    from tenure_demo.generator import load_city
    from shared.settings import Settings

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
