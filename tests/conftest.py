"""Test harness: a fresh real PostgreSQL database per test process, migrated with Alembic.

DATABASE_URL selects the server; without it an embedded PostgreSQL (pgserver) is started.
Each pytest process creates `tenure_test_<pid>` on that server and drops it at the end.
"""
from __future__ import annotations

import os

os.environ.setdefault("TENURE_ENV", "test")

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.apps"]
