"""Test harness: a fresh real PostgreSQL database per test module, copied from a migrated template.

DATABASE_URL selects the server; without it an embedded PostgreSQL (pgserver) is started, once
per run (under xdist by the controller). Each test module gets a `tenure_test_<pid>_<hex>` copy
of `tenure_tpl_<fingerprint>` (built once with Alembic), dropped afterwards. See fixtures/db.py,
fixtures/template.py; for xdist, fixtures/parallel.py (how the suite is split) and
fixtures/alone.py (concurrency bursts run while no other worker is inside a test).
"""

from __future__ import annotations

import os

os.environ.setdefault("TENURE_ENV", "test")

pytest_plugins = ["tests.fixtures.alone", "tests.fixtures.parallel", "tests.fixtures.db", "tests.fixtures.apps"]
