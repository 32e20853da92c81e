"""Tags: seeding the built-in catalogue, back-office edits, previews, and the bulk stage.

The stage compiles every active definition (whitelist compiler, bound values) into ONE statement
per id chunk: each customer's tag ids are an array of `CASE WHEN <rule> THEN <id> END` (sorted,
as definitions are read in id order), stored as the customer's row in customer_tag_sets. Only
customers whose set changed are written, with a customer_tag_history row per tag gained or
lost; a customer's very first tagging writes no history (`customer_tag_sets.since` records it).
A rerun with unchanged data writes nothing. Afterwards each definition's `customers` count is
refreshed in one pass.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import incremental
from shared.engine.catalogue import catalogue
from shared.engine.jobs import RunContext, run_chunks
from shared.engine.rules import CHUNK_FROM_CLAUSE, FROM_CLAUSE, Compiler, RuleError, compile_rule
from shared.errors import Conflict, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
FAMILIES = ("basic", "stability", "preference", "channel")


async def seed_catalogue(session: AsyncSession) -> int:
    """Insert built-in tags that are missing (by code). Existing rows — edited or not — are kept."""
    inserted = 0
    for tag in catalogue():
        result = await session.execute(
            text(
                "INSERT INTO tag_definitions (code, name, family, description, rule, builtin, active, version) "
                "VALUES (:code, :name, :family, :description, CAST(:rule AS jsonb), true, true, 1) "
                "ON CONFLICT (code) DO NOTHING"
            ),
            {**tag, "rule": json.dumps(tag["rule"], ensure_ascii=False)},
        )
        inserted += rowcount(result)
    return inserted


async def create_tag(
    session: AsyncSession, *, code: str, name: str, family: str, rule: Any, description: str | None = None
) -> dict[str, Any]:
    """Add a tag definition; the rule is validated by compiling it. Raises RuleError, Conflict."""
    compile_rule(rule)
    row = (
        await session.execute(
            text(
                "INSERT INTO tag_definitions (code, name, family, description, rule, builtin, active, version) "
                "VALUES (:code, :name, :family, :description, CAST(:rule AS jsonb), false, true, 1) "
                "ON CONFLICT (code) DO NOTHING RETURNING id"
            ),
            {
                "code": code,
                "name": name,
                "family": family,
                "description": description,
                "rule": json.dumps(rule, ensure_ascii=False),
            },
        )
    ).first()
    if row is None:
        raise Conflict("a tag with this code exists", code=code)
    return await get_tag(session, row[0])


async def update_tag(session: AsyncSession, tag_id: int, *, changes: dict[str, Any]) -> dict[str, Any]:
    """Edit name/description/family/rule/active; a new rule bumps `version`. Raises NotFound, RuleError."""
    current = await get_tag(session, tag_id)
    if "rule" in changes:
        compile_rule(changes["rule"])
    fields = {k: v for k, v in changes.items() if k in ("name", "description", "family", "rule", "active")}
    if not fields:
        return current
    assignments = []
    params: dict[str, Any] = {"id": tag_id}
    for key, value in fields.items():
        if key == "rule":
            assignments.append("rule = CAST(:rule AS jsonb), version = version + 1")
            params["rule"] = json.dumps(value, ensure_ascii=False)
        else:
            assignments.append(f"{key} = :{key}")
            params[key] = value
    await session.execute(text(f"UPDATE tag_definitions SET {', '.join(assignments)} WHERE id = :id"), params)
    return await get_tag(session, tag_id)


async def get_tag(session: AsyncSession, tag_id: int) -> dict[str, Any]:
    row = (
        await session.execute(
            text(
                "SELECT t.id, t.code, t.name, t.family, t.description, t.rule, t.builtin, t.active, t.version, "
                "t.customers, t.counted_at "
                "FROM tag_definitions t WHERE t.id = :id"
            ),
            {"id": tag_id},
        )
    ).first()
    if row is None:
        raise NotFound("tag not found", tag_id=tag_id)
    return dict(row._mapping)


async def list_tags(
    session: AsyncSession, *, family: str | None, active: bool | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            """
            SELECT t.id, t.code, t.name, t.family, t.description, t.rule, t.builtin, t.active, t.version,
                   t.customers, t.counted_at
            FROM tag_definitions t
            WHERE (CAST(:family AS text) IS NULL OR t.family = :family)
              AND (CAST(:active AS boolean) IS NULL OR t.active = :active)
            ORDER BY t.family, t.code LIMIT :limit OFFSET :offset
            """
        ),
        {"family": family, "active": active, "limit": limit, "offset": offset},
    )
    return [dict(r._mapping) for r in rows]


async def preview_count(session: AsyncSession, rule: Any) -> int:
    """How many customers a rule matches right now (over the feature view). Raises RuleError."""
    compiled = compile_rule(rule, prefix="pv")
    await session.execute(text("SET LOCAL statement_timeout = '60s'"))
    return int(
        await session.scalar(text(f"SELECT count(*) FROM {FROM_CLAUSE} WHERE {compiled.sql}"), compiled.params) or 0
    )


_DIFF = """
WITH cur AS MATERIALIZED (
    SELECT f.customer_id, {tags} AS tags
    FROM {from_clause}
    WHERE f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/ {only}
),
diff AS MATERIALIZED (
    SELECT coalesce(c.customer_id, o.customer_id) AS customer_id,
           coalesce(c.tags, '{{}}') AS new_tags, o.tag_ids AS old_tags
    FROM cur c
    {join} JOIN (SELECT customer_id, tag_ids FROM customer_tag_sets
               WHERE customer_id > :lo AND customer_id <= :hi /*subset customer_id*/) o ON o.customer_id = c.customer_id
    WHERE o.tag_ids IS DISTINCT FROM coalesce(c.tags, '{{}}')  -- both sorted: equality is set equality
),
up AS (
    INSERT INTO customer_tag_sets AS s (customer_id, tag_ids, since, updated_at)
    SELECT customer_id, new_tags, now(), now() FROM diff
    ON CONFLICT (customer_id) DO UPDATE SET tag_ids = EXCLUDED.tag_ids, updated_at = EXCLUDED.updated_at
    RETURNING 1
),
hist AS (
    INSERT INTO customer_tag_history (customer_id, tag_id, event, run_id)
    SELECT d.customer_id, t.tag_id, 'gained', CAST(:run_id AS int)
    FROM diff d CROSS JOIN LATERAL unnest(d.new_tags) AS t(tag_id)
    WHERE d.old_tags IS NOT NULL AND NOT (t.tag_id = ANY(d.old_tags))
    UNION ALL
    SELECT d.customer_id, t.tag_id, 'lost', CAST(:run_id AS int)
    FROM diff d CROSS JOIN LATERAL unnest(d.old_tags) AS t(tag_id)
    WHERE NOT (t.tag_id = ANY(d.new_tags))
    RETURNING 1
)
SELECT (SELECT count(*) FROM up) AS changed,
       -- members gained minus lost per tag: a subset pass moves the counts by these
       (SELECT coalesce(jsonb_object_agg(z.t, z.n), '{{}}') FROM (
            SELECT t, sum(d) AS n FROM (
                SELECT unnest(new_tags) AS t, 1 AS d FROM diff
                UNION ALL SELECT unnest(coalesce(old_tags, '{{}}')), -1 FROM diff) y
            GROUP BY t HAVING sum(d) <> 0) z) AS deltas
"""
# a customer's tags follow their feature, customer and profile rows (rules read f, c, p)
CHANGED = [
    "SELECT customer_id FROM customer_features WHERE computed_at >= :since",
    "SELECT id FROM customers WHERE updated_at >= :since",
    "SELECT customer_id FROM customer_profiles WHERE updated_at >= :since",
]
_ADD_COUNTS = text(
    "UPDATE tag_definitions d SET customers = d.customers + CAST(x.n AS int), counted_at = now() "
    "FROM jsonb_each_text(CAST(:deltas AS jsonb)) AS x(id, n) WHERE d.id = CAST(x.id AS int)"
)
# every tag (ids in order, so the array is sorted), or: the stored set with the edited tags re-derived
_ALL_TAGS = "array_remove(ARRAY[{cases}]::int[], NULL)"
_EDITED_TAGS = (
    "ARRAY(SELECT DISTINCT t FROM unnest(array_cat("
    "ARRAY(SELECT x FROM unnest(coalesce(ts.tag_ids, '{{}}')) x WHERE x <> ALL(CAST(:edited AS int[]))), "
    "array_remove(ARRAY[{cases}]::int[], NULL))) t ORDER BY t)"
)
EDITED_SHARE = 0.25
"""above this share of definitions edited since the last pass, the tags stage is a full pass"""
# A full pass recounts: a plain SELECT (an UPDATE ... FROM never gets a parallel plan, and the
# count unnests every set: 28M tags at 1M customers, 3.8 s on one core), then one small UPDATE.
_TALLY = text("SELECT t AS tag_id, count(*) AS customers FROM customer_tag_sets, unnest(tag_ids) AS t GROUP BY t")
_SET_COUNTS = text(
    "UPDATE tag_definitions d SET customers = coalesce(CAST(CAST(:counts AS jsonb) ->> CAST(d.id AS text) AS int), 0), "
    "counted_at = now()"
)


async def run(ctx: RunContext) -> int:
    """Every active tag for the customers whose inputs changed; and when definitions were edited,
    added or retired since the last pass, those tags alone for everyone else (`_EDITED_TAGS`)."""
    async with own_transaction(ctx.sm) as s:
        await seed_catalogue(s)
    async with ctx.sm() as s:
        defs = (
            await s.execute(text("SELECT id, code, rule, version FROM tag_definitions WHERE active ORDER BY id"))
        ).all()
    compiler = Compiler("t", ctx.run_date)
    cases: dict[int, str] = {}
    skipped: list[str] = []
    versions: dict[str, int] = {}
    for tag_id, code, rule, version in defs:
        try:
            cases[int(tag_id)] = f"CASE WHEN {compiler.compile(rule)} THEN {int(tag_id)} END"
            versions[str(tag_id)] = int(version)
        except RuleError:
            skipped.append(code)  # a stored rule that no longer compiles is skipped, never run
    if skipped:
        log.warning("engine.tags.skipped", codes=skipped)
        ctx.notes["tags_skipped"] = skipped
    ctx.notes["tags_active"] = len(cases)
    # A customer keeps no tag that is not active and compiling: those rows are removed as 'lost'.
    crossing = compiler.crossings()
    p = await incremental.plan(
        ctx,
        "tags",
        {"catalogue": "per-tag versions"},
        changed=CHANGED,
        crossing=[] if crossing is None else [f"SELECT f.customer_id FROM customer_features f WHERE {crossing}"],
        params=compiler.params,
        state={"versions": versions},
    )
    edited: list[int] = []
    if p.subset:
        before: dict[str, int] = p.previous_state.get("versions", {})
        edited = sorted(int(t) for t in set(before) | set(versions) if before.get(t) != versions.get(t))
        if len(edited) > EDITED_SHARE * max(len(versions), 1):
            p.ids, p.reason = None, f"{len(edited)} of {len(versions)} definitions edited"
            edited = []
        p.counts["edited_tags"] = len(edited)
    every = _ALL_TAGS.format(cases=", ".join(cases.values()) if cases else "NULL")
    stmt = text(
        incremental.subset_sql(_DIFF.format(from_clause=CHUNK_FROM_CLAUSE, tags=every, only="", join="FULL"), p.subset)
    )
    again = [cases[t] for t in edited if t in cases]  # edited and still active (retired ones are only removed)
    # only customers whose membership of an edited tag moves (a cheap test per row); the rest keep their set
    moves = " OR ".join(
        f"(CASE WHEN ({cases[t]}) IS NOT NULL THEN true ELSE false END) <> coalesce(ts.tag_ids @> ARRAY[{t}], false)"
        if t in cases
        else f"coalesce(ts.tag_ids @> ARRAY[{t}], false)"
        for t in edited
    )
    partial = text(
        _DIFF.format(
            from_clause=CHUNK_FROM_CLAUSE,
            tags=_EDITED_TAGS.format(cases=", ".join(again) if again else "NULL"),
            only=f"AND ({moves or 'false'})",
            join="LEFT",
        )
    )
    params = {**compiler.params, "run_id": ctx.run_id, "edited": edited}
    deltas: Counter[str] = Counter()

    async def apply(s: AsyncSession, statement: Any, bound: dict[str, Any]) -> int:
        row = (await s.execute(statement, {**params, **bound})).one()
        deltas.update({k: int(v) for k, v in row.deltas.items()})
        return int(row.changed or 0)

    async def work(s: AsyncSession, lo: int, hi: int, ids: list[int] | None) -> int:
        return await apply(s, stmt, {"lo": lo, "hi": hi, "ids": ids})

    changed = await incremental.run_pass(ctx, p, work)
    if edited:  # after the changed customers' full sets: re-deriving an edited tag there changes nothing
        changed += await run_chunks(ctx, lambda s, lo, hi: apply(s, partial, {"lo": lo, "hi": hi}))
    async with own_transaction(ctx.sm) as s:
        await s.execute(text("SET LOCAL statement_timeout = '600s'"))
        if p.subset:  # the counts move by what this pass changed; a full pass recounts
            await s.execute(_ADD_COUNTS, {"deltas": json.dumps({k: v for k, v in deltas.items() if v})})
        else:
            counts = {str(r.tag_id): int(r.customers) for r in await s.execute(_TALLY)}
            await s.execute(_SET_COUNTS, {"counts": json.dumps(counts)})
    await incremental.finish(ctx, p)
    return changed
