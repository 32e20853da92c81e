"""Engine and sessionmaker factories. Engines are created in each app's lifespan, never at import."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.db import faults
from shared.db.embedded import resolve_database_url, to_async_url
from shared.settings import Settings


def create_engine(settings: Settings, *, process: str, url: str | None = None) -> AsyncEngine:
    """Every connection carries statement/lock/idle timeouts and an application_name per process, and
    goes back to the pool clean (shared.db.faults)."""
    engine = create_async_engine(
        to_async_url(resolve_database_url(url or settings.database_url)),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        # pre-ping costs three round trips per checkout with asyncpg; a dead connection instead
        # fails its request with 503 and the pool invalidates it (TENURE_POOL_PRE_PING=1 restores it).
        pool_pre_ping=settings.pool_pre_ping,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.connect_timeout_s,
            "command_timeout": settings.statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "application_name": f"{settings.env}.{process}",
                "statement_timeout": str(settings.statement_timeout_ms),
                "lock_timeout": str(settings.lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(settings.idle_in_tx_timeout_ms),
                "timezone": "UTC",
                # API queries are short; JIT compilation once cost 2 s on a 16 ms list query
                "jit": "off",
            },
        },
    )
    faults.install(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
