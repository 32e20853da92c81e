"""Whitelist compiler: declarative JSON condition trees → SQL with bound parameters.

Grammar (what the back office stores in tag_definitions.rule):
    node := {"all": [node, ...]} | {"any": [node, ...]} | {"not": node}
          | {"field": <name>, "op": <op>, "value": <value>}
Field names come only from FIELDS (feature view `f`, customers `c`, profiles `p`); the SQL
emitted for a field is the registry's text, never the caller's. Operators come from a fixed set
per field type. Every value is a bound parameter with an explicit CAST, never interpolated.
Anything else raises RuleError (422), including unknown keys, wrong types and oversized trees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared import clock
from shared.errors import Unprocessable

NUM, TEXT, BOOL, LIST = "number", "text", "bool", "list"

FIELDS: dict[str, tuple[str, str]] = {
    # feature view
    **{
        name: (f"f.{name}", NUM)
        for name in (
            "age_years",
            "tenure_months",
            "months_of_usage",
            "plan_fee_fen",
            "arpu_fen",
            "arpu_6m_fen",
            "last_bill_fen",
            "arpu_trend_3m",
            "arpu_trend_6m",
            "voice_min",
            "data_mb",
            "sms",
            "voice_trend_3m",
            "data_trend_3m",
            "voice_use_ratio",
            "data_use_ratio",
            "unused_voice_min",
            "unused_data_mb",
            "active_days",
            "active_subscriptions",
            "silent_services",
            "payg_data_fen",
            "payg_data_3m_fen",
            "roaming_fen",
            "long_distance_fen",
            "roaming_ld_3m_fen",
            "balance_fen",
            "topup_3m_fen",
            "topup_count_3m",
            "broadband_gb",
            "complaints_90d",
            "complaints_network_90d",
            "complaints_tariff_90d",
            "complaints_service_90d",
            "unresolved_complaints",
            "min_satisfaction",
            "competitor_calls_30d",
            "competitor_calls_90d",
            "handset_age_months",
            "handset_changes_12m",
            "touches_180d",
            "touch_successes_180d",
            "touches_this_month",
            "refusals_30d",
            "plan_id",
        )
    },
    # countdowns: computed against the run day from the dates the feature view stores, so the
    # stored row does not change every night (see TIME_FIELDS)
    "days_to_contract_end": ("(CASE WHEN f.contract_end >= {day} THEN f.contract_end - {day} END)", NUM),
    "days_to_birthday": ("tenure_days_to_birthday(f.birthday, {day})", NUM),
    "handset_brand": ("f.handset_brand", TEXT),
    "handset_price_band": ("f.handset_price_band", TEXT),
    "best_channel": ("f.best_channel", TEXT),
    "dual_sim": ("f.dual_sim", BOOL),
    # customers
    "gender": ("c.gender", TEXT),
    "tier": ("c.tier", TEXT),
    "branch_id": ("c.branch_id", NUM),
    "do_not_disturb": ("c.do_not_disturb", BOOL),
    "has_email": ("(c.email IS NOT NULL)", BOOL),
    # profiles (engine and churn outputs)
    "lifecycle_stage": ("p.lifecycle_stage", TEXT),
    "segment": ("p.segment", TEXT),
    "sub_segment": ("p.sub_segment", TEXT),
    "cluster_id": ("p.cluster_id", NUM),
    "risk_level": ("p.risk_level", TEXT),
    "churn_score": ("p.churn_score", NUM),
    "warning_coefficient": ("p.warning_coefficient", NUM),
    "uplift_score": ("p.uplift_score", NUM),
    "preferred_channel": ("p.preferred_channel", TEXT),
    "four_high": ("p.four_high", LIST),
}

TIME_FIELDS = frozenset(name for name, (column, _) in FIELDS.items() if "{day}" in column)
"""Fields whose value moves with the run day alone: a rule over them can change its answer for a
customer whose data did not change (the incremental night asks `Compiler.crossings`)."""

OPS: dict[str, set[str]] = {
    NUM: {"=", "!=", ">", ">=", "<", "<=", "between", "in", "not_in", "is_null", "not_null"},
    TEXT: {"=", "!=", "in", "not_in", "is_null", "not_null"},
    BOOL: {"=", "is_null", "not_null"},
    LIST: {"contains", "contains_any", "is_empty", "not_empty"},
}
_SQL_OP = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
MAX_NODES = 64
MAX_DEPTH = 8
MAX_LIST = 200
MAX_TEXT = 100


def from_clause(*, chunk: bool = False) -> str:
    """What rules and strategy conditions read: features `f`, customer `c`, profile `p`, tag set `ts`.

    With `chunk=True` every joined table carries the `:lo < id <= :hi` range itself: Postgres does
    not carry a range across a join, so without it each chunk of a nightly stage would scan the
    whole customers, profiles and tag-set tables. Unused LEFT JOINs on primary keys cost nothing
    (the planner drops them). The `/*subset*/` markers are for the incremental night
    (shared.engine.incremental.subset_sql).
    """

    def rng(col: str) -> str:
        return f" AND {col} > :lo AND {col} <= :hi /*subset {col}*/" if chunk else ""

    return (
        f"customer_features f JOIN customers c ON c.id = f.customer_id{rng('c.id')} "
        f"LEFT JOIN customer_profiles p ON p.customer_id = f.customer_id{rng('p.customer_id')} "
        f"LEFT JOIN customer_tag_sets ts ON ts.customer_id = f.customer_id{rng('ts.customer_id')}"
    )


FROM_CLAUSE = from_clause()
CHUNK_FROM_CLAUSE = from_clause(chunk=True)


class RuleError(Unprocessable):
    code = "invalid_rule"


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


class Compiler:
    """Compiles many rules into one statement; `prefix` keeps parameter names apart.

    `day` is the day countdown fields count from (the run day; default today, Asia/Shanghai).
    Every leaf over such a field is also kept in `time_leaves`, for `crossings`.
    """

    def __init__(self, prefix: str = "r", day: date | None = None) -> None:
        self.prefix = prefix
        self.day = day or clock.today()
        self.params: dict[str, Any] = {}
        self.time_leaves: list[str] = []
        self._n = 0
        self._nodes = 0

    def crossings(self) -> str | None:
        """SQL predicate: some leaf over a countdown field answers differently on `:prev_day`
        (bound by the caller) than on the compiler's day — the customers whose results may have
        changed with no change in their data. None when no rule reads such a field."""
        if not self.time_leaves:
            return None
        day = f":{self.prefix}_day"
        return (
            "("
            + " OR ".join(f"({leaf}) IS DISTINCT FROM ({leaf.replace(day, ':prev_day')})" for leaf in self.time_leaves)
            + ")"
        )

    def compile(self, rule: Any) -> str:
        self._nodes = 0
        return self._node(rule, 0)

    def _bind(self, value: Any, cast: str) -> str:
        self._n += 1
        name = f"{self.prefix}_{self._n}"
        self.params[name] = value
        return f"CAST(:{name} AS {cast})"

    def _node(self, node: Any, depth: int) -> str:
        self._nodes += 1
        if self._nodes > MAX_NODES or depth > MAX_DEPTH:
            raise RuleError("rule is too large", max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        if not isinstance(node, dict) or not node:
            raise RuleError("each rule node must be a non-empty object")
        keys = set(node)
        if keys == {"all"} or keys == {"any"}:
            (kind,) = keys
            items = node[kind]
            if not isinstance(items, list) or not items:
                raise RuleError("'{kind}' needs a non-empty list", kind=kind)
            joiner = " AND " if kind == "all" else " OR "
            return "(" + joiner.join(self._node(i, depth + 1) for i in items) + ")"
        if keys == {"not"}:
            return f"(NOT {self._node(node['not'], depth + 1)})"
        if "field" in keys and "op" in keys and keys <= {"field", "op", "value"}:
            return self._leaf(node)
        raise RuleError("unknown rule node", keys=sorted(str(k)[:40] for k in keys))

    def _leaf(self, node: dict[str, Any]) -> str:
        sql = self._leaf_sql(node)
        if node["field"] in TIME_FIELDS:
            self.time_leaves.append(sql)
        return sql

    def _leaf_sql(self, node: dict[str, Any]) -> str:
        name, op = node["field"], node["op"]
        if not isinstance(name, str) or name not in FIELDS:
            raise RuleError("unknown field", field=str(name)[:80], allowed=sorted(FIELDS))
        column, kind = FIELDS[name]
        if "{day}" in column:
            self.params[f"{self.prefix}_day"] = self.day
            column = column.replace("{day}", f"CAST(:{self.prefix}_day AS date)")
        if not isinstance(op, str) or op not in OPS[kind]:
            raise RuleError(
                "operator not allowed for this field", field=name, op=str(op)[:20], allowed=sorted(OPS[kind])
            )
        value = node.get("value")
        if op in ("is_null", "not_null", "is_empty", "not_empty"):
            if value is not None:
                raise RuleError("this operator takes no value", field=name, op=op)
            if op == "is_empty":
                return f"(coalesce(jsonb_array_length({column}), 0) = 0)"
            if op == "not_empty":
                return f"(coalesce(jsonb_array_length({column}), 0) > 0)"
            return f"({column} IS {'NOT ' if op == 'not_null' else ''}NULL)"
        if kind == LIST:
            if op == "contains":
                return f"({column} ? {self._bind(self._text(name, value), 'text')})"
            return f"({column} ?| {self._bind(self._list(name, value, TEXT), 'text[]')})"
        if op in ("in", "not_in"):
            values = self._list(name, value, kind)
            cast = {NUM: "float8[]", TEXT: "text[]"}[kind]
            sql = f"({column} = ANY({self._bind(values, cast)}))"
            return sql if op == "in" else f"(NOT {sql})"
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise RuleError("'between' needs [low, high]", field=name)
            low, high = (self._scalar(name, v, kind) for v in value)
            return f"({column} BETWEEN {self._bind(low, self._cast(low))} AND {self._bind(high, self._cast(high))})"
        scalar = self._scalar(name, value, kind)
        return f"({column} {_SQL_OP[op]} {self._bind(scalar, self._cast(scalar))})"

    @staticmethod
    def _cast(value: Any) -> str:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "bigint"
        if isinstance(value, float):
            return "float8"
        return "text"

    def _scalar(self, name: str, value: Any, kind: str) -> Any:
        if kind == NUM:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise RuleError("value must be a number", field=name)
            if isinstance(value, int) and abs(value) >= 2**62:
                raise RuleError("number out of range", field=name)
            return value
        if kind == BOOL:
            if not isinstance(value, bool):
                raise RuleError("value must be true or false", field=name)
            return value
        return self._text(name, value)

    @staticmethod
    def _text(name: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise RuleError("value must be a string of at most {max_chars} characters", field=name, max_chars=MAX_TEXT)
        return value

    def _list(self, name: str, value: Any, kind: str) -> list[Any]:
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise RuleError("value must be a list of 1..{max_items} items", field=name, max_items=MAX_LIST)
        items = [self._scalar(name, v, kind if kind != LIST else TEXT) for v in value]
        return [float(v) for v in items] if kind == NUM else items


def compile_rule(rule: Any, prefix: str = "r", day: date | None = None) -> Compiled:
    """Compile one rule on its own (validation and previews)."""
    c = Compiler(prefix, day)
    return Compiled(c.compile(rule), c.params)


def validate(rule: Any) -> None:
    compile_rule(rule)
