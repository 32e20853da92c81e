"""Engine and sessionmaker factories. Engines are created in each app's lifespan, never at import."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.db import faults
from shared.db.embedded import resolve_database_url, to_async_url
from shared.settings import Settings


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid4()}__"


def create_engine(
    settings: Settings, *, process: str, url: str | None = None, pgbouncer: bool | None = None
) -> AsyncEngine:
    """Every connection carries statement/lock/idle timeouts and an application_name per process, and
    goes back to the pool clean (shared.db.faults).

    Through PgBouncer in transaction mode (`pgbouncer`, default settings.db_pgbouncer) consecutive
    statements may run on different server connections: asyncpg keeps no statement cache, names each
    prepared statement uniquely (PgBouncer 1.18, Debian 12's, has no max_prepared_statements), and
    only the startup parameters PgBouncer tracks are sent; the timeouts come from its connect_query
    (infra/scale/pgbouncer.py sets them).
    """
    bouncer = settings.db_pgbouncer if pgbouncer is None else pgbouncer
    server_settings = {
        "application_name": f"{settings.env}.{process}",
        "timezone": "UTC",
    }
    if not bouncer:
        server_settings |= {
            "statement_timeout": str(settings.statement_timeout_ms),
            "lock_timeout": str(settings.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(settings.idle_in_tx_timeout_ms),
            # API queries are short; JIT compilation once cost 2 s on a 16 ms list query
            "jit": "off",
        }
    connect_args: dict[str, object] = {
        "timeout": settings.connect_timeout_s,
        "command_timeout": settings.statement_timeout_ms / 1000 + 5,
        "server_settings": server_settings,
    }
    async_url = make_url(to_async_url(resolve_database_url(url or settings.database_url)))
    if bouncer:
        connect_args |= {"statement_cache_size": 0, "prepared_statement_name_func": _unique_statement_name}
        async_url = async_url.update_query_dict({"prepared_statement_cache_size": "0"})
    engine = create_async_engine(
        async_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        # pre-ping costs three round trips per checkout with asyncpg; a dead connection instead
        # fails its request with 503 and the pool invalidates it (TENURE_POOL_PRE_PING=1 restores it).
        pool_pre_ping=settings.pool_pre_ping,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    faults.install(engine)
    return engine


def behind_pgbouncer(engine: AsyncEngine) -> bool:
    """Whether this engine (or one derived with execution_options) talks to PgBouncer in transaction
    mode. Then a statement run outside a transaction (AUTOCOMMIT) may be prepared on one server
    connection and executed on another, so such engines run every statement inside a transaction."""
    return engine.url.query.get("prepared_statement_cache_size") == "0"


def read_options(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads: AUTOCOMMIT (no BEGIN/ROLLBACK round trips), except behind PgBouncer."""
    return engine if behind_pgbouncer(engine) else engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
