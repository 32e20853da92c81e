"""Resolve the database URL: DATABASE_URL when set, otherwise an embedded PostgreSQL (pgserver).

The embedded server lives under `<repo>/.data/pg` (git-ignored) and is shared by every process
that asks for it; pgserver reference-counts its users.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[4]
_server = None


def embedded_data_dir() -> Path:
    return Path(os.environ.get("TENURE_DATA_DIR", REPO_ROOT / ".data")) / "pg"


def start_embedded() -> str:
    """Start (or join) the embedded server and return a plain libpq URL for it."""
    global _server
    import pgserver  # imported lazily: production never needs it

    data = embedded_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    _server = pgserver.get_server(str(data), cleanup_mode="stop")
    _raise_connection_limit(_server)
    uri = _server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    host = uri.split("host=", 1)[1]
    return f"postgresql://postgres@/postgres?host={quote(host, safe='/')}"


EMBEDDED_MAX_CONNECTIONS = 300


def _raise_connection_limit(server: Any) -> None:
    """initdb's default of 100 connections is too few for the four services, their job worker and
    the parallel test workers' pools on one machine: raise it once per data folder (ALTER SYSTEM,
    then `pg_ctl restart`, which reuses the options the server was started with)."""
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made by a factory at import; lazily: production never needs it

    current = int(server.psql("SHOW max_connections;").split("\n")[2].strip())
    if current >= EMBEDDED_MAX_CONNECTIONS:
        return
    server.psql(f"ALTER SYSTEM SET max_connections = {EMBEDDED_MAX_CONNECTIONS};")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def resolve_database_url(url: str | None) -> str:
    return url or os.environ.get("DATABASE_URL") or start_embedded()


def to_async_url(url: str) -> str:
    """postgresql://... → postgresql+asyncpg://... (asyncpg accepts host=/socket/dir as a query arg).

    A libpq multi-host URL (`postgresql://u@h1:p1,h2:p2/db?target_session_attrs=read-write`, the
    failover setup) becomes `?host=h1:p1&host=h2:p2`, the form SQLAlchemy parses and hands to
    asyncpg, which tries the hosts in order and keeps the one that matches target_session_attrs."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + _hosts_as_query(url[len(prefix) :])
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def _hosts_as_query(rest: str) -> str:
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return rest
    path, _, query = tail.partition("?")
    params = "&".join(f"host={h}" for h in hosts.split(","))
    return f"{userinfo}{at}/{path}?{params}" + (f"&{query}" if query else "")


def to_sync_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + _hosts_as_query(url[len(prefix) :])
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def to_libpq_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def with_database(url: str, dbname: str) -> str:
    """Same server, another database name."""
    base, _, query = url.partition("?")
    head, _, _old = base.rpartition("/")
    return f"{head}/{dbname}" + (f"?{query}" if query else "")
