"""Transaction styles, by name. There are three, and ARCHITECTURE.md lists where each is used.

1. `WriteSession` (shared.web.deps) is the default for a request that writes: one transaction
   that commits before the response is sent, and any raise rolls all of it back. Code below the
   router takes that session and never commits.
2. `own_transaction(sm)`, below, is for work that must commit on its own, whatever happens to the
   request's transaction: rate-limit and refused-guess counters that must survive the request's
   rollback, sign-in bookkeeping, a job row that a background task will read, the audit row
   written after a job that committed its own chunks, and each chunk of a batch job.
3. Raw asyncpg on the pooled connection (shared.db.native) is the hot-path exception: the
   check-in statement runs as one implicit transaction without BEGIN/COMMIT round trips, and
   bulk loads use COPY. Each use says so where it happens.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def own_transaction(sm: async_sessionmaker[AsyncSession]) -> AbstractAsyncContextManager[AsyncSession]:
    """A new session in its own transaction: commits when the block ends, rolls back if it raises.

    It is a separate connection, so it neither sees nor waits for the uncommitted writes of a
    request's WriteSession. Never open one while holding row locks that it would also need.
    """
    return sm.begin()
