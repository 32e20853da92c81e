"""Only shared/ledger writes ledger_* rows: the conventions lint's ledger-write rule finds nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

LINT = Path(__file__).resolve().parents[3] / "infra" / "lint" / "conventions.py"


def test_no_ledger_writes_outside_shared_ledger() -> None:
    spec = importlib.util.spec_from_file_location("conventions", LINT)
    assert spec is not None and spec.loader is not None
    conventions = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("conventions", conventions)  # dataclasses look their module up
    spec.loader.exec_module(conventions)
    found = [str(v) for v in conventions.scan() if v.rule == "ledger-write"]
    assert found == []
