"""The conventions lint (infra/lint/conventions.py): each rule fires, its escape works, docstrings don't count."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / "infra" / "lint" / "conventions.py"
DOMAIN = "shared/src/shared/manager/example.py"  # any module outside the rules' homes
ROUTER = "services/admin/src/admin_app/routers/example.py"


@pytest.fixture(scope="module")
def lint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conventions", LINT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("conventions", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def rules(lint: ModuleType, source: str, rel: str = DOMAIN) -> list[tuple[int, str]]:
    return [(v.line, v.rule) for v in lint.check_python(rel, source)]


TZ = "Asia/" + "Shanghai"  # spelled apart so this file is no example of what it tests

FIRES = [
    ('q = "INSERT INTO ledger_entries (txn_id) VALUES (1)"\n', "ledger-write"),
    ('q = """\nUPDATE ledger_accounts SET balance = 0\n"""\n', "ledger-write"),
    ('q = "COPY ledger_txns FROM STDIN"\n', "ledger-write"),
    ("stmt = insert(LedgerEntry).values(amount=1)\n", "ledger-write"),
    ("stmt = sa.delete(LedgerTxn)\n", "ledger-write"),
    (f'tz = ZoneInfo("{TZ}")\n', "timezone-literal"),
    ("tz = zoneinfo.ZoneInfo(name)\n", "timezone-literal"),
    (f'label = "local time ({TZ})"\n', "timezone-literal"),
    ('ok = principal.role == "admin"\n', "role-compare"),
    ('ok = user.role != "account_manager"\n', "role-compare"),
    ('ok = role in {"admin", "operator"}\n', "role-compare"),
    ('ok = "branch_head" == self.principal.role\n', "role-compare"),
]


@pytest.mark.parametrize(("source", "rule"), FIRES)
def test_each_rule_fires(lint: ModuleType, source: str, rule: str) -> None:
    assert {r for _, r in rules(lint, source)} == {rule}
    assert rules(lint, source, ROUTER) == rules(lint, source)  # routers are no exception


@pytest.mark.parametrize(("source", "rule"), FIRES)
def test_escape_with_a_reason_allows_it(lint: ModuleType, source: str, rule: str) -> None:
    first, *rest = source.split("\n", 1)
    escaped = f"{first}  # lint: allow-{rule} the reason goes here\n" + "".join(rest)
    assert rules(lint, escaped) == []


def test_escape_needs_a_reason_and_the_right_rule(lint: ModuleType) -> None:
    src = 'ok = principal.role == "admin"  # lint: allow-role-compare\n'
    assert rules(lint, src) == [(1, "role-compare")]
    src = 'ok = principal.role == "admin"  # lint: allow-ledger-write because\n'
    assert rules(lint, src) == [(1, "role-compare")]
    src = f'tz = ZoneInfo("{TZ}")  # lint: allow-role-compare, allow-timezone-literal both, on purpose\n'
    assert rules(lint, src) == []


def test_escape_anywhere_in_a_wrapped_statement(lint: ModuleType) -> None:
    src = 'ok = (\n    principal.role\n    == "admin"  # lint: allow-role-compare kept for the demo\n)\n'
    assert rules(lint, src) == []


def test_docstrings_and_comments_are_ignored(lint: ModuleType) -> None:
    src = (
        f'"""Days are {TZ} days; INSERT INTO ledger_entries happens in shared/ledger."""\n'
        "\n"
        "class C:\n"
        f'    """UPDATE ledger_accounts is not done here ({TZ})."""\n'
        "\n"
        "def f() -> None:\n"
        f'    """Shown in {TZ}."""\n'
        f"    # ZoneInfo(\"{TZ}\") and principal.role == 'admin' in a comment\n"
    )
    assert rules(lint, src) == []
    # the same text as a plain string is code, not a docstring
    assert [r for _, r in rules(lint, f'x = 1\n"{TZ}"\n')] == ["timezone-literal"]


def test_data_is_not_authorisation(lint: ModuleType) -> None:
    """Column filters (`Model.role == ...`) and comparisons of other attributes are allowed."""
    src = (
        'stmt = select(StaffUser).where(StaffUser.role == "account_manager")\n'
        'ok = principal.kind == "staff"\n'
        "ok = principal.role == other.role\n"
    )
    assert rules(lint, src) == []


def test_each_rule_has_a_home(lint: ModuleType) -> None:
    assert rules(lint, 'q = "INSERT INTO ledger_entries VALUES (1)"\n', "shared/src/shared/ledger/bulk.py") == []
    assert rules(lint, f'TZ = ZoneInfo("{TZ}")\n', "shared/src/shared/clock.py") == []
    assert rules(lint, 'ok = principal.role == "admin"\n', "shared/src/shared/auth/scoping.py") == []


def test_sql_files(lint: ModuleType) -> None:
    sql = (
        "INSERT INTO ledger_entries (txn_id) SELECT 1;\n"
        f"SELECT now() AT TIME ZONE '{TZ}';\n"
        "DELETE FROM ledger_txns; -- lint: allow-ledger-write a fixture reset\n"
        "DELETE FROM ledger_txns; -- lint: allow-ledger-write\n"
    )
    found = [(v.line, v.rule) for v in lint.check_sql("shared/src/shared/points/sql/x.sql", sql)]
    assert found == [(1, "ledger-write"), (2, "timezone-literal"), (4, "ledger-write")]
    assert list(lint.check_sql("shared/src/shared/ledger/sql/x.sql", sql)) == []


def test_the_tree_is_clean_and_the_command_says_so() -> None:
    done = subprocess.run([sys.executable, str(LINT)], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout == ""
    assert (done.returncode, done.stderr.strip()) == (0, "conventions: 0 violation(s)")


def test_the_command_fails_on_a_violation(tmp_path: Path, lint: ModuleType) -> None:
    bad = tmp_path / "services" / "x" / "routers"
    bad.mkdir(parents=True)
    (bad / "r.py").write_text('ok = principal.role == "admin"\n')
    found = [str(v) for v in lint.scan(tmp_path, ["services"])]
    assert found == ["services/x/routers/r.py:1: role-compare: role compared with a string outside shared/auth"]
