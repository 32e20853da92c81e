"""Project conventions that ruff and mypy cannot see, checked on the syntax tree.

    python infra/lint/conventions.py          # exit 1 and one line per violation

Rules (each with an explicit escape on a line of the offending statement, `# lint: allow-<rule> <reason>`
in Python or `-- lint: allow-<rule> <reason>` in SQL; an escape without a reason does not count):

- ledger-write: rows of `ledger_*` tables are written only under `shared/ledger/` (INSERT, UPDATE,
  DELETE or COPY in SQL text, and SQLAlchemy insert/update/delete of the ledger models). Everyone
  else posts through the ledger's API, so the balance rules live in one place.
- timezone-literal: the operator's time zone is named only in `shared/clock.py` (no `ZoneInfo(...)`
  calls and no "Asia/Shanghai" in code or SQL elsewhere; docstrings may mention it).
- role-compare: authorisation by role name happens in `shared/auth/` (no `principal.role == "admin"`
  or `role in {"a", "b"}` elsewhere; ask shared.auth for the decision instead). Column filters
  such as `StaffUser.role == ...` in a query are data, not authorisation, and are allowed.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["shared/src", "services"]
LEDGER_HOME = "shared/src/shared/ledger/"
CLOCK_HOME = "shared/src/shared/clock.py"
AUTH_HOME = "shared/src/shared/auth/"
LEDGER_MODELS = {"LedgerAccount", "LedgerTxn", "LedgerEntry"}

_LEDGER_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+(ONLY\s+)?ledger_\w+", re.IGNORECASE)
_TZ_NAME = re.compile(r"Asia/Shanghai")
_ALLOW = re.compile(r"(#|--)\s*lint:\s*allow-(?P<rules>[a-z\-]+(\s*,\s*allow-[a-z\-]+)*)(?P<reason>.*)")


@dataclass(frozen=True, slots=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def _allowed_on(line: str, rule: str) -> bool:
    match = _ALLOW.search(line)
    if match is None or not match.group("reason").strip(" -—:;,.()"):
        return False
    names = {r.strip().removeprefix("allow-") for r in match.group("rules").split(",")}
    return rule in names


def _allowed(lines: list[str], node: ast.AST, rule: str) -> bool:
    """An escape on any line of the node (a formatter may wrap a statement over several)."""
    first = getattr(node, "lineno", 0)
    last = getattr(node, "end_lineno", None) or first
    return any(_allowed_on(lines[n - 1], rule) for n in range(max(first, 1), min(last, len(lines)) + 1))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of string constants that are docstrings (modules, classes, functions)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _is_str_literals(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        return bool(node.elts) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


def _is_instance_role(node: ast.AST) -> bool:
    """`x.role` on an instance (lower-case base), or a bare `role`; `Model.role` is a column."""
    if isinstance(node, ast.Name):
        return node.id == "role"
    if isinstance(node, ast.Attribute) and node.attr == "role":
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        return not (isinstance(base, ast.Name) and base.id[:1].isupper())
    return False


def check_python(rel: str, source: str) -> Iterator[Violation]:
    lines = source.splitlines()
    tree = ast.parse(source, filename=rel)
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        lineno = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if (
                not rel.startswith(LEDGER_HOME)
                and _LEDGER_SQL.search(node.value)
                and not _allowed(lines, node, "ledger-write")
            ):
                yield Violation(rel, lineno, "ledger-write", "SQL writes a ledger_* table outside shared/ledger")
            if rel != CLOCK_HOME and _TZ_NAME.search(node.value) and not _allowed(lines, node, "timezone-literal"):
                yield Violation(rel, lineno, "timezone-literal", "the time zone is named outside shared/clock.py")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "ZoneInfo" and rel != CLOCK_HOME and not _allowed(lines, node, "timezone-literal"):
                yield Violation(rel, lineno, "timezone-literal", "ZoneInfo(...) outside shared/clock.py")
            if (
                name in {"insert", "update", "delete"}
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in LEDGER_MODELS
                and not rel.startswith(LEDGER_HOME)
                and not _allowed(lines, node, "ledger-write")
            ):
                yield Violation(rel, lineno, "ledger-write", f"{name}({node.args[0].id}) outside shared/ledger")
        elif isinstance(node, ast.Compare) and not rel.startswith(AUTH_HOME):
            operands = [node.left, *node.comparators]
            if (
                any(_is_instance_role(o) for o in operands)
                and any(_is_str_literals(o) for o in operands)
                and not _allowed(lines, node, "role-compare")
            ):
                yield Violation(rel, lineno, "role-compare", "role compared with a string outside shared/auth")


def check_sql(rel: str, source: str) -> Iterator[Violation]:
    if rel.startswith(LEDGER_HOME):
        return
    for lineno, line in enumerate(source.splitlines(), start=1):
        if _LEDGER_SQL.search(line) and not _allowed_on(line, "ledger-write"):
            yield Violation(rel, lineno, "ledger-write", "SQL writes a ledger_* table outside shared/ledger")
        if _TZ_NAME.search(line) and not _allowed_on(line, "timezone-literal"):
            yield Violation(rel, lineno, "timezone-literal", "the time zone is named outside shared/clock.py")


def scan(root: Path = ROOT, folders: list[str] = SCANNED) -> list[Violation]:
    found: list[Violation] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".py":
                found.extend(check_python(rel, path.read_text(encoding="utf-8")))
            elif path.suffix == ".sql":
                found.extend(check_sql(rel, path.read_text(encoding="utf-8")))
    return found


def main() -> int:
    violations = scan()
    for v in violations:
        print(v)
    print(f"conventions: {len(violations)} violation(s)", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
