"""The whitelist rule compiler: only known fields and operators, values always bound."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.engine import tags as tag_service
from shared.engine.catalogue import catalogue
from shared.engine.rules import RuleError, compile_rule

INJECTIONS = [
    {"field": "id; DROP TABLE customers", "op": "=", "value": 1},
    {"field": "arpu_fen", "op": "= 1 OR 1=1 --", "value": 1},
    {"field": "arpu_fen) OR (1=1", "op": ">", "value": 0},
    {"field": "tier", "op": "=", "value": 1},  # wrong type for a text field
    {"field": "arpu_fen", "op": ">", "value": "0 OR 1=1"},  # wrong type for a number field
    {"field": "arpu_fen", "op": ">", "value": True},
    {"field": "arpu_fen", "op": ">", "value": float("nan")},
    {"field": "arpu_fen", "op": "in", "value": []},
    {"field": "tier", "op": "=", "value": "x" * 101},
    {"sql": "SELECT 1"},
    {"all": []},
    {"all": [{"field": "arpu_fen", "op": ">", "value": 1}], "any": []},
    {"not": {"raw": "1=1"}},
    "arpu_fen > 0",
    {"field": "tier", "op": "is_null", "value": "x"},
]


@pytest.mark.parametrize("rule", INJECTIONS)
def test_unknown_fields_ops_and_bad_values_are_refused(rule) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleError) as exc:
        compile_rule(rule)
    assert exc.value.status_code == 422


def test_values_are_bound_never_interpolated() -> None:
    compiled = compile_rule(
        {
            "any": [
                {"field": "tier", "op": "=", "value": "' OR 1=1 --"},
                {"field": "segment", "op": "in", "value": ["x'); DROP TABLE customers; --"]},
            ]
        }
    )
    assert "OR 1=1" not in compiled.sql and "DROP" not in compiled.sql
    assert list(compiled.params.values()) == ["' OR 1=1 --", ["x'); DROP TABLE customers; --"]]


def test_deep_or_huge_rules_are_refused() -> None:
    deep: dict = {"field": "arpu_fen", "op": ">", "value": 1}
    for _ in range(12):
        deep = {"not": deep}
    with pytest.raises(RuleError):
        compile_rule(deep)
    with pytest.raises(RuleError):
        compile_rule({"any": [{"field": "arpu_fen", "op": ">", "value": i} for i in range(100)]})


def test_every_builtin_tag_compiles_and_codes_are_unique() -> None:
    tags = catalogue()
    assert len(tags) >= 150
    assert len({t["code"] for t in tags}) == len(tags)
    for t in tags:
        compile_rule(t["rule"])


async def test_injection_value_matches_nothing_and_tables_survive(db) -> None:  # type: ignore[no-untyped-def]
    n = await tag_service.preview_count(db, {"field": "tier", "op": "=", "value": "' OR 1=1 --"})
    assert n == 0
    n = await tag_service.preview_count(db, {"field": "segment", "op": "in", "value": ["'); DROP TABLE customers; --"]})
    assert n == 0
    assert await db.scalar(text("SELECT to_regclass('customers') IS NOT NULL"))


def _leaves(rule):  # type: ignore[no-untyped-def]
    if "field" in rule:
        yield rule
    for key in ("all", "any"):
        for child in rule.get(key, []):
            yield from _leaves(child)
    if "not" in rule:
        yield from _leaves(rule["not"])


def test_builtin_thresholds_use_each_scores_scale() -> None:
    """warning_coefficient runs 0-100 (calibrated probability x 100, shared.churn.model) and
    churn_score 0-1: a threshold on the wrong scale tags nearly everyone (once: >= 0.7 of 100)."""
    scales = {"warning_coefficient": (1.0, 100.0), "churn_score": (0.0, 1.0)}
    checked = 0
    for tag in catalogue():
        for leaf in _leaves(tag["rule"]):
            if leaf["field"] in scales and isinstance(leaf.get("value"), (int, float)):
                low, high = scales[leaf["field"]]
                assert low < leaf["value"] <= high, (tag["code"], leaf)
                checked += 1
    assert checked >= 1
