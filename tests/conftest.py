"""Test harness: a fresh real PostgreSQL database per test process, migrated with Alembic.

DATABASE_URL selects the server; without it an embedded PostgreSQL (pgserver) is started.
Each test module gets a fresh migrated `tenure_test_<pid>_<hex>` database, dropped afterwards.
"""
from __future__ import annotations

import os

os.environ.setdefault("TENURE_ENV", "test")

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.apps"]
