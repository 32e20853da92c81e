"""Migration 0007d: the database refuses a touch outcome outside shared.touches.outcomes."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from shared.db.embedded import to_sync_url
from shared.db.migrate import MIGRATIONS_DIR
from shared.touches.outcomes import OUTCOMES

_INSERT = text(
    "INSERT INTO touches (customer_id, channel, outcome, cost_fen, visible_to_customer) VALUES (-1, 'sms', :o, 0, true)"
)


def test_the_migration_copies_the_vocabulary() -> None:
    spec = importlib.util.spec_from_file_location(
        "m0007d", MIGRATIONS_DIR / "versions" / "0007d_touch_outcome_check.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.OUTCOMES) == set(OUTCOMES)


@pytest.mark.parametrize("word", ["accepted", "not_reached", "ok"])
def test_an_unknown_outcome_is_refused_by_the_check(database_url: str, word: str) -> None:
    eng = create_engine(to_sync_url(database_url))
    try:
        with eng.connect() as conn, pytest.raises(IntegrityError) as err:
            conn.execute(_INSERT, {"o": word})
        assert "ck_touches_outcome_vocabulary" in str(err.value)
    finally:
        eng.dispose()


def test_a_known_outcome_passes_the_check(database_url: str) -> None:
    """The same insert with a known word fails only on the (missing) customer, not on the check."""
    eng = create_engine(to_sync_url(database_url))
    try:
        with eng.connect() as conn, pytest.raises(IntegrityError) as err:
            conn.execute(_INSERT, {"o": "ordered"})
        assert "ck_touches_outcome_vocabulary" not in str(err.value)
        assert "fk_touches_customer_id" in str(err.value)
    finally:
        eng.dispose()
