"""The campaign audience query: JSON over segments, tags, tiers, risk, stage and four-high kinds,
compiled to a SQL condition through a whitelist.

Only the keys below exist (unknown keys are refused); every value is a bound parameter; the SQL
text is assembled from fixed fragments only. Within one key the values are alternatives (OR);
different keys must all hold (AND). An empty query means every active customer.
`rule` adds a condition tree of the tag-rule grammar (shared.engine.rules: field → operator →
value over the same whitelist, with all / any / not groups), so an audience can say what the
fixed keys cannot; it reads the nightly features, so a customer without them does not match.
Aliases in the compiled SQL: `c` = customers, `p` = customer_profiles (LEFT JOIN).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.engine.rules import Compiler, RuleError, validate
from shared.web.params import RefId

CodeStr = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,60}$")]


class AudienceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[Literal["star1", "star2", "star3", "star4", "star5", "gold", "diamond"]] = Field(
        default=[], max_length=7
    )
    segments: list[CodeStr] = Field(default=[], max_length=20)
    sub_segments: list[CodeStr] = Field(default=[], max_length=20)
    tags: list[CodeStr] = Field(default=[], max_length=50, description="customer has ANY of these tag codes")
    tags_all: list[CodeStr] = Field(default=[], max_length=20, description="customer has ALL of these tag codes")
    risk_levels: list[Literal["low", "medium", "high"]] = Field(default=[], max_length=3)
    lifecycle_stages: list[Literal["exploration", "formation", "stable", "decline"]] = Field(default=[], max_length=4)
    four_high: list[Literal["tariff", "payg_data", "silence", "arpu_mismatch"]] = Field(default=[], max_length=4)
    branch_ids: list[RefId] = Field(default=[], max_length=200)
    min_churn_score: float | None = Field(None, ge=0, le=1)
    exclude_do_not_disturb: bool = False
    rule: dict[str, Any] | None = Field(
        None, description="a tag-rule condition tree (fields and operators of GET /v1/tags/fields)"
    )

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Checked by the whitelist compiler at the door, so a stored campaign always compiles."""
        if value is not None:
            try:
                validate(value)
            except RuleError as exc:
                where = ", ".join(f"{k}={v}" for k, v in exc.context.items() if k != "allowed")
                raise ValueError(f"{exc.message} ({where})" if where else exc.message) from exc
        return value


def compile_query(q: AudienceQuery) -> tuple[str, dict[str, Any]]:
    """Return (SQL condition, bound parameters) for `WHERE`, over aliases c and p."""
    parts = ["c.status = 'active'"]
    params: dict[str, Any] = {}
    simple = (
        ("tiers", "c.tier"),
        ("segments", "p.segment"),
        ("sub_segments", "p.sub_segment"),
        ("risk_levels", "p.risk_level"),
        ("lifecycle_stages", "p.lifecycle_stage"),
    )
    for key, column in simple:
        values = getattr(q, key)
        if values:
            parts.append(f"{column} = ANY(CAST(:q_{key} AS text[]))")
            params[f"q_{key}"] = list(values)
    if q.branch_ids:
        parts.append("c.branch_id = ANY(CAST(:q_branch_ids AS int[]))")
        params["q_branch_ids"] = list(q.branch_ids)
    if q.four_high:
        parts.append("jsonb_exists_any(p.four_high, CAST(:q_four_high AS text[]))")
        params["q_four_high"] = list(q.four_high)
    if q.tags:
        parts.append(
            "EXISTS (SELECT 1 FROM customer_tag_sets ts WHERE ts.customer_id = c.id AND ts.tag_ids && "
            "ARRAY(SELECT td.id FROM tag_definitions td WHERE td.code = ANY(CAST(:q_tags AS text[]))))"
        )
        params["q_tags"] = list(q.tags)
    if q.tags_all:
        parts.append(
            "(SELECT count(*) FROM customer_tag_sets ts JOIN tag_definitions td ON td.id = ANY(ts.tag_ids) "
            "WHERE ts.customer_id = c.id AND td.code = ANY(CAST(:q_tags_all AS text[]))) = :q_tags_all_n"
        )
        params["q_tags_all"] = list(q.tags_all)
        params["q_tags_all_n"] = len(set(q.tags_all))
    if q.min_churn_score is not None:
        parts.append("p.churn_score >= :q_min_churn")
        params["q_min_churn"] = q.min_churn_score
    if q.exclude_do_not_disturb:
        parts.append("NOT c.do_not_disturb")
    if q.rule is not None:
        compiler = Compiler("q_rule")
        condition = compiler.compile(q.rule)
        parts.append(f"EXISTS (SELECT 1 FROM customer_features f WHERE f.customer_id = c.id AND {condition})")
        params.update(compiler.params)
    return " AND ".join(parts), params
