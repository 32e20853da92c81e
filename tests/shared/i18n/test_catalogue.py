"""Every message a person can read in an error detail has its Chinese text, with the same placeholders.

The syntax trees of shared/src and services/*/src are walked for every place a message is written:
AppError subclasses (and their `super().__init__`), rate limits (`Limit`, `secret_limits`), direct
`error_response` calls and HTTPException details. A message must be a literal (or a module constant,
or a conditional between literals): an f-string would bypass the catalogue, so it fails here too.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest

import shared.errors
from shared.i18n import EN, ZH, catalogue, placeholders, translate
from shared.web.errors import _HTTP_CODES

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]

# calls that carry a message, and where: (positional index, keyword)
MESSAGE_CALLS = {"Limit": (3, "detail"), "secret_limits": (4, "detail"), "error_response": (2, "detail")}
# expressions that pass a message on (its literal is checked where it is written)
PASS_THROUGH = {
    ("shared/src/shared/auth/ratelimit.py", "limit.detail"),
    ("shared/src/shared/auth/service.py", "detail"),
    ("shared/src/shared/errors.py", "self.message"),
    ("shared/src/shared/web/errors.py", "exc.template"),
    ("shared/src/shared/web/errors.py", "str(exc.detail)"),
    ("shared/src/shared/web/limits.py", "str(too_large.detail)"),
}
# texts the framework writes itself: Starlette's HTTPException details are the status phrases
# (their wording changed with Python 3.13: both are listed), and FastAPI's unparsable form body
FRAMEWORK = {HTTPStatus(s).phrase for s in (*_HTTP_CODES, 422, 500, 503)} | {
    "Request Entity Too Large",
    "Content Too Large",
    "Unprocessable Entity",
    "Unprocessable Content",
    "There was an error parsing the body",
}


@dataclass(frozen=True)
class Site:
    path: str
    line: int
    message: str
    keywords: frozenset[str] | None  # keyword arguments of an AppError call (None: any context)


def _trees() -> dict[str, ast.Module]:
    return {
        str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"))
        for src in SOURCES
        for p in sorted(src.rglob("*.py"))
    }


def _error_classes(trees: dict[str, ast.Module]) -> set[str]:
    names = {n for n, v in vars(shared.errors).items() if isinstance(v, type) and issubclass(v, shared.errors.AppError)}
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in names
                    and any(
                        (b.id if isinstance(b, ast.Name) else getattr(b, "attr", None)) in names for b in node.bases
                    )
                ):
                    names.add(node.name)
                    grew = True
    return names


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        t.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def _literals(node: ast.expr, constants: dict[str, str]) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _literals(node.body, constants), _literals(node.orelse, constants)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    return None


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _call_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def _is_super_init(call: ast.Call) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "__init__"
        and isinstance(f.value, ast.Call)
        and isinstance(f.value.func, ast.Name)
        and f.value.func.id == "super"
    )


def scan() -> tuple[list[Site], list[tuple[str, int, str]]]:
    """(every message site, every message expression that is not a literal)."""
    trees = _trees()
    errors = _error_classes(trees)
    sites: list[Site] = []
    unresolved: list[tuple[str, int, str]] = []
    for path, tree in trees.items():
        constants = _constants(tree)
        owners: dict[int, ast.ClassDef] = {}
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef):
                for node in ast.walk(cls):
                    owners.setdefault(id(node), cls)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            keywords: frozenset[str] | None = None
            if name in errors:
                arg = _argument(node, 0, "message")
                has_splat = any(k.arg is None for k in node.keywords)
                keywords = None if has_splat else frozenset(k.arg for k in node.keywords if k.arg)
            elif name in MESSAGE_CALLS:
                arg = _argument(node, *MESSAGE_CALLS[name])
            elif _is_super_init(node) and id(node) in owners:
                cls = owners[id(node)]
                bases = {(b.id if isinstance(b, ast.Name) else getattr(b, "attr", None)) for b in cls.bases}
                if cls.name in errors:
                    arg = _argument(node, 0, "message")
                elif "HTTPException" in bases:
                    arg = _argument(node, 1, "detail")
                else:
                    continue
            else:
                continue
            if arg is None:
                continue
            found = _literals(arg, constants)
            if found is None:
                if (path, ast.unparse(arg)) not in PASS_THROUGH:
                    unresolved.append((path, node.lineno, ast.unparse(arg)))
                continue
            sites.extend(Site(path, node.lineno, m, keywords) for m in found)
    return sites, unresolved


SITES, UNRESOLVED = scan()
ZH_TEXTS = catalogue(ZH)
MESSAGES = sorted({s.message for s in SITES} | FRAMEWORK)
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_walk_finds_the_raise_sites() -> None:
    """A walk that silently found nothing would pass everything below."""
    assert len(SITES) > 250 and len(MESSAGES) > 200
    assert any(s.message == "wrong or expired code" for s in SITES)
    assert any(s.message.startswith("too many codes requested") for s in SITES)  # a rate limit's detail
    assert any(s.message == "coupon code is not redeemable here" for s in SITES)  # a module constant


def test_messages_are_literals() -> None:
    assert UNRESOLVED == [], "write the message as a literal with {named} placeholders from the context"


@pytest.mark.parametrize("message", MESSAGES)
def test_every_message_has_chinese(message: str) -> None:
    zh = ZH_TEXTS.get(message)
    assert zh, f"no zh-CN entry in shared/src/shared/i18n/messages.zh-CN.json for {message!r}"
    assert CJK.search(zh), f"the zh-CN text of {message!r} is not Chinese: {zh!r}"
    assert placeholders(zh) == placeholders(message), f"placeholders differ: {message!r} / {zh!r}"


def test_placeholders_are_given_at_the_raise_site() -> None:
    missing = [
        (s.path, s.line, s.message, sorted(placeholders(s.message) - s.keywords))
        for s in SITES
        if s.keywords is not None and placeholders(s.message) - s.keywords
    ]
    assert missing == []


def test_the_catalogue_holds_only_messages_in_use() -> None:
    assert sorted(set(ZH_TEXTS) - set(MESSAGES)) == []


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    assert (
        translate("the request body is larger than {limit_bytes} bytes", EN, {"limit_bytes": 10})
        == "the request body is larger than 10 bytes"
    )
    assert "10" in translate("the request body is larger than {limit_bytes} bytes", ZH, {"limit_bytes": 10})
    assert translate("a message nobody translated", ZH) == "a message nobody translated"
    assert translate("at most {limit}", EN, {}) == "at most {limit}"  # a missing value stays visible
    assert translate("a {brace", EN, {"x": 1}) == "a {brace"  # never raises
    assert translate("wrong or expired code", ZH) != "wrong or expired code"
    assert translate("wrong or expired code", "fr") == "wrong or expired code"


def test_placeholders_are_plain_names() -> None:
    assert placeholders("{a} and {b}") == {"a", "b"}
    for bad in ("{}", "{0}", "{a.b}", "{a[0]}", "{a!r}", "{a:>10}", "{a"):
        with pytest.raises(ValueError):
            placeholders(bad)
