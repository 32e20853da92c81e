"""Run every domain seeder in `shared.demo.seeders` in ORDER, each in its own transaction."""
from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.demo import seeders


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
