"""How many uvicorn worker processes a service runs, and each one's connection pool.

One process saturates one core on per-request Python (routing, dependencies, serialisation,
asyncpg's protocol) long before PostgreSQL is busy: at 300 manager requests/s a single worker
queued requests for seconds while each query ran in milliseconds. So a service runs one worker
per core (`TENURE_WEB_WORKERS` overrides, at most 8 by default), and the pool a service would
have had is split between its workers (`TENURE_POOL_SIZE` overrides), so four services stay under
PostgreSQL's default 100 connections whatever the core count.
"""

from __future__ import annotations

import os

MAX_DEFAULT_WORKERS = 8
POOL_PER_SERVICE = 20
MIN_POOL_PER_WORKER = 4


def web_workers(environ: dict[str, str] | None = None) -> int:
    """TENURE_WEB_WORKERS if set (≥ 1), else one per core, at most MAX_DEFAULT_WORKERS."""
    env = os.environ if environ is None else environ
    raw = env.get("TENURE_WEB_WORKERS", "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def pool_per_worker(workers: int) -> int:
    """The service's POOL_PER_SERVICE connections split over its workers (never under MIN_POOL_PER_WORKER)."""
    return max(MIN_POOL_PER_WORKER, POOL_PER_SERVICE // max(1, workers))
