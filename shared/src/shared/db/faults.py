"""A pooled connection goes back clean: one whose protocol or transaction state is unknown after an
error is discarded (invalidated) instead of being handed to the next request.

Two asyncpg behaviours let one bad request poison a pooled connection for good (issue 18):

- asyncpg prepares a statement with Parse/Describe/*Flush* and binds it later. When it then refuses
  to encode an argument (client-side `DataError`: an int past the column type's range) it sends
  nothing more, so the server sits inside the implicit transaction of an unfinished extended-query
  sequence ("active", ClientRead, transaction open, locks held) until the next message arrives; by
  then `statement_timeout` has expired and cancels whatever the next request sends.
- asyncpg marks a transaction as the connection's top one *before* its BEGIN runs and keeps the mark
  when BEGIN fails, so every later transaction on that connection becomes a SAVEPOINT outside a
  transaction block (SQLSTATE 25P01) until the process restarts.

So: an error that asyncpg raised itself (not one the server reported, after which the protocol is in
step again) invalidates the connection, and so does a connection whose driver still believes it is in
a transaction that SQLAlchemy does not know of; a connection that comes back to the pool in a
transaction is recycled. Server-reported errors keep the connection: the session's rollback is enough.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in out:
        out.append(seen)
        seen = seen.__cause__ or seen.__context__
    return out


def is_server_error(exc: BaseException) -> bool:
    """An error PostgreSQL reported (an ErrorResponse, so ReadyForQuery follows): it carries a severity.
    asyncpg's own errors (argument encoding, protocol state) reuse the same classes without one."""
    return isinstance(exc, asyncpg.PostgresError) and getattr(exc, "severity", None) is not None


def state_unknown(exc: BaseException) -> bool:
    """True when the driver gave up mid-conversation: after it, nobody knows what the server awaits."""
    for e in _chain(exc):
        if isinstance(e, _DRIVER_ERRORS):
            return not is_server_error(e)
        if isinstance(e, (asyncio.TimeoutError, asyncio.CancelledError)):
            return True
    return False


def _driver(dbapi_connection: Any) -> asyncpg.Connection | None:
    driver = getattr(dbapi_connection, "driver_connection", None)
    return driver if isinstance(driver, asyncpg.Connection) and not driver.is_closed() else None


def _stray_transaction(dbapi_connection: Any) -> bool:
    """The driver holds a transaction mark (or the server a transaction) that SQLAlchemy's adapter,
    which rolls back only what it started, does not know of."""
    driver = _driver(dbapi_connection)
    if driver is None or getattr(dbapi_connection, "_transaction", None) is not None:
        return False
    return driver.is_in_transaction() or getattr(driver, "_top_xact", None) is not None


def _dbapi_connection(ctx: ExceptionContext) -> Any:
    conn = ctx.connection
    if conn is None or conn.closed or conn.invalidated:
        return None
    try:
        return conn.connection.dbapi_connection
    except Exception:  # no usable connection behind it: nothing to check
        return None


def _on_error(ctx: ExceptionContext) -> None:
    if ctx.is_disconnect:
        return
    if state_unknown(ctx.original_exception) or _stray_transaction(_dbapi_connection(ctx)):
        ctx.is_disconnect = True  # SQLAlchemy invalidates this connection (closed, replaced on next checkout)
        ctx.invalidate_pool_on_disconnect = False  # ...and only this one


def _on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if dbapi_connection is not None and _stray_transaction(dbapi_connection):
        # soft: no I/O here (checkin may run outside the event loop); the next checkout replaces it
        record.invalidate(soft=True)


def install(engine: AsyncEngine) -> None:
    """Register both checks on an engine (done by shared.db.engine.create_engine)."""
    event.listen(engine.sync_engine, "handle_error", _on_error)
    event.listen(engine.sync_engine.pool, "checkin", _on_checkin)


async def discard_if_unknown(conn: AsyncConnection, exc: BaseException) -> None:
    """For code that runs statements on the raw asyncpg connection (shared.db.native), where
    SQLAlchemy's error hook does not see the error: invalidate the pooled connection if needed."""
    if state_unknown(exc) and not conn.invalidated:
        await conn.invalidate(exc)
