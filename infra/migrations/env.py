"""Alembic environment: the URL comes from DATABASE_URL (or the embedded server), models from shared."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import shared.models  # noqa: F401  (registers every table)
from shared.db.base import Base
from shared.db.embedded import resolve_database_url, to_sync_url

config = context.config


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Partitions of monthly_usage are created at run time, not declared as models."""
    return not (type_ == "table" and name and name.startswith("monthly_usage_"))


def run_migrations_online() -> None:
    url = config.attributes.get("url") or resolve_database_url(None)
    engine = create_engine(to_sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            compare_type=True,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
