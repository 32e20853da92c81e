"""The customer 360: the one reader of what staff see about one customer, per audience.

Two staff audiences read a customer, both through here: account managers (the portrait,
`shared.manager.portrait`, also the hall counter) and the back office (`GET :8004/v1/customers/{id}`).
Each audience's read is ONE statement, rendered once at import from the parts below: every part
is a JSON subquery keyed by the customer id (primary keys and `(customer_id, ...)` indexes;
`monthly_usage` partitions pruned to the months asked for), so a 360 costs one round trip.

Personal data is masked per audience in `identity`: managers get the masked name and phone and
never the national id; the back office gets everything masked unless the caller may unmask
(the back-office router checks the permission and audits the read). The caller has already
scoped the customer (row scoping or the branch check).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal

import asyncpg
from sqlalchemy import literal_column, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import scoping
from shared.auth.principals import Principal
from shared.db import native
from shared.masking import mask_id_number, mask_name, mask_phone
from shared.models import Customer

Audience = Literal["manager", "backoffice"]
UNMASKABLE = ("name", "phone", "id_number", "email", "address", "birthday")

_PRODUCT_JSON = """json_build_object(
    'id', pr.id, 'code', pr.code, 'name', pr.name, 'kind', pr.kind, 'monthly_fee_fen', pr.monthly_fee_fen,
    'one_time_fee_fen', pr.one_time_fee_fen, 'data_mb', pr.data_mb, 'voice_min', pr.voice_min,
    'selling_points', pr.selling_points)"""

_PARTS: dict[str, str] = {
    # --- both audiences ---
    "profile": """(SELECT row_to_json(x) FROM (
        SELECT lifecycle_stage, segment, sub_segment, churn_score, warning_coefficient, risk_level, top_factors,
               four_high, preferred_channel, arpu_fen, model_version, updated_at
        FROM customer_profiles WHERE customer_id = :cid) x)""",
    "plan": """(SELECT row_to_json(x) FROM (
        SELECT id, code, name, kind, monthly_fee_fen, one_time_fee_fen, data_mb, voice_min, selling_points
        FROM products WHERE id = :plan_id) x)""",
    # --- account managers: what to offer, how hard to push ---
    "active_subscriptions": f"""coalesce((SELECT json_agg(x ORDER BY x.starts_on DESC, x.id) FROM (
        SELECT s.id, s.starts_on, s.ends_on, s.channel, {_PRODUCT_JSON} AS product
        FROM subscriptions s JOIN products pr ON pr.id = s.product_id
        WHERE s.customer_id = :cid AND s.status = 'active') x), '[]')""",
    "usage_since": """coalesce((SELECT json_agg(x ORDER BY x.month) FROM (
        SELECT month, bill_fen, voice_min, data_mb, sms, payg_data_fen, roaming_fen, long_distance_fen,
               topup_fen, balance_end_fen, active_days
        FROM monthly_usage WHERE customer_id = :cid AND month >= :first_month) x), '[]')""",
    "tags": """coalesce((SELECT json_agg(x ORDER BY x.family, x.code) FROM (
        SELECT d.family, d.code, d.name FROM customer_tag_sets t JOIN tag_definitions d ON d.id = ANY(t.tag_ids)
        WHERE t.customer_id = :cid) x), '[]')""",
    "four_high_flags": """coalesce((SELECT json_agg(x ORDER BY x.period DESC, x.kind) FROM (
        SELECT kind, period, value, cared_at FROM four_high_flags
        WHERE customer_id = :cid AND normalised_on IS NULL ORDER BY period DESC LIMIT 20) x), '[]')""",
    "recommendations": f"""coalesce((SELECT json_agg(x ORDER BY x.score DESC, x.id) FROM (
        SELECT r.id, r.purpose, r.origin, r.channel, r.script, r.reason, r.score, r.expires_at,
               CASE WHEN pr.id IS NULL THEN NULL ELSE {_PRODUCT_JSON} END AS product
        FROM recommendations r LEFT JOIN products pr ON pr.id = r.product_id
        WHERE r.customer_id = :cid AND r.status = 'open' ORDER BY r.score DESC, r.id LIMIT 10) x), '[]')""",
    "contact_history": """coalesce((SELECT json_agg(x ORDER BY x.occurred_at DESC, x.id DESC) FROM (
        SELECT id, channel, occurred_at, outcome, staff_id, campaign_id, product_id FROM touches
        WHERE customer_id = :cid ORDER BY occurred_at DESC, id DESC LIMIT :history) x), '[]')""",
    "open_tasks": """coalesce((SELECT json_agg(x ORDER BY x.due_on, x.id) FROM (
        SELECT id, kind, due_on, status, reason, product_id, script FROM care_tasks
        WHERE customer_id = :cid AND status IN ('open', 'in_progress') ORDER BY due_on, id LIMIT 20) x), '[]')""",
    "touches_this_month": "(SELECT count(*) FROM touches WHERE customer_id = :cid AND occurred_at >= :month_start)",
    "refused_at": """(SELECT max(occurred_at) FROM touches
        WHERE customer_id = :cid AND outcome = 'refused' AND occurred_at > :cool_from)""",
    "pressure_rules": "(SELECT value FROM programme_settings WHERE key = 'contact_pressure')",
    # --- the back office: the whole record ---
    "branch": "(SELECT row_to_json(x) FROM (SELECT id, code, name FROM org_units WHERE id = :branch_id) x)",
    "manager": """(SELECT row_to_json(x) FROM (
        SELECT s.id, s.username, s.full_name, a.reason, a.created_at AS since FROM manager_assignments a
        JOIN staff_users s ON s.id = a.manager_id WHERE a.customer_id = :cid LIMIT 1) x)""",
    "tags_since": """coalesce((SELECT json_agg(x ORDER BY x.family, x.code) FROM (
        SELECT td.code, td.name, td.family, coalesce(h.at, ts.since) AS since
        FROM customer_tag_sets ts JOIN tag_definitions td ON td.id = ANY(ts.tag_ids)
        LEFT JOIN LATERAL (SELECT max(at) AS at FROM customer_tag_history
                           WHERE customer_id = ts.customer_id AND tag_id = td.id AND event = 'gained') h ON true
        WHERE ts.customer_id = :cid) x), '[]')""",
    "usage_last_12": """coalesce((SELECT json_agg(x ORDER BY x.month) FROM (
        SELECT month, bill_fen, voice_min, data_mb, sms, roaming_fen, payg_data_fen, balance_end_fen, active_days
        FROM monthly_usage WHERE customer_id = :cid ORDER BY month DESC LIMIT 12) x), '[]')""",
    "subscriptions": """coalesce((SELECT json_agg(x ORDER BY x.id DESC) FROM (
        SELECT s.id, s.product_id, pr.name AS product, pr.kind, s.status, s.starts_on, s.ends_on, s.channel
        FROM subscriptions s JOIN products pr ON pr.id = s.product_id WHERE s.customer_id = :cid
        ORDER BY s.id DESC LIMIT 20) x), '[]')""",
    "touches": """coalesce((SELECT json_agg(x ORDER BY x.occurred_at DESC) FROM (
        SELECT id, channel, occurred_at, outcome, staff_id, campaign_id, product_id, cost_fen FROM touches
        WHERE customer_id = :cid ORDER BY occurred_at DESC LIMIT 50) x), '[]')""",
    "tasks": """coalesce((SELECT json_agg(x ORDER BY x.due_on DESC) FROM (
        SELECT id, kind, due_on, status, outcome, manager_id, campaign_id, reason FROM care_tasks
        WHERE customer_id = :cid ORDER BY due_on DESC LIMIT 50) x), '[]')""",
    "complaints": """coalesce((SELECT json_agg(x ORDER BY x.occurred_at DESC) FROM (
        SELECT occurred_at, category, channel, resolved, satisfaction FROM complaints WHERE customer_id = :cid
        ORDER BY occurred_at DESC LIMIT 20) x), '[]')""",
    "handset": """(SELECT row_to_json(x) FROM (
        SELECT brand, model, price_band, dual_sim, started_on FROM handsets WHERE customer_id = :cid
        ORDER BY started_on DESC LIMIT 1) x)""",
}
_AUDIENCE_PARTS: dict[str, tuple[str, ...]] = {
    "manager": (
        "profile",
        "plan",
        "active_subscriptions",
        "usage_since",
        "tags",
        "four_high_flags",
        "recommendations",
        "contact_history",
        "open_tasks",
        "touches_this_month",
        "refused_at",
        "pressure_rules",
    ),
    "backoffice": (
        "profile",
        "plan",
        "branch",
        "manager",
        "tags_since",
        "usage_last_12",
        "subscriptions",
        "touches",
        "tasks",
        "complaints",
        "handset",
    ),
}
# Timestamp columns of the back office's parts: its response carries them as datetimes (in UTC,
# as every other back-office timestamp), not as the JSON strings Postgres builds.
_BACKOFFICE_TIMESTAMPS: dict[str, tuple[str, ...]] = {
    "profile": ("updated_at",),
    "manager": ("since",),
    "tags_since": ("since",),
    "touches": ("occurred_at",),
    "complaints": ("occurred_at",),
}
_STATEMENTS = {
    audience: text("SELECT json_build_object(\n" + ",\n".join(f"'{p}', {_PARTS[p]}" for p in parts) + "\n)")
    for audience, parts in _AUDIENCE_PARTS.items()
}


MANAGER_CUSTOMER_COLUMNS = (
    "id",
    "name",
    "phone",
    "gender",
    "status",
    "tier",
    "join_date",
    "birthday",
    "contract_end",
    "do_not_disturb",
)


@lru_cache(maxsize=8)
def _visible_statement(scope: str) -> tuple[str, list[str]]:
    """The managers' read fused with the scope check and the customer's own columns (asyncpg SQL
    and parameter names): a portrait is then one round trip, and an out-of-scope id reads nothing."""
    parts = ",\n".join(f"'{p}', {_PARTS[p]}" for p in _AUDIENCE_PARTS["manager"]).replace(":plan_id", "c.plan_id")
    visible = native.render(scoping.customer_visible_bound(scope, literal_column("c.id")))
    sql = (
        f"SELECT {', '.join('c.' + col for col in MANAGER_CUSTOMER_COLUMNS)}, json_build_object(\n{parts}\n) AS doc "
        f"FROM customers c WHERE c.id = :cid AND {visible}"
    )
    return native.to_asyncpg(sql)


def visible_query(principal: Principal, customer_id: int, **params: Any) -> tuple[str, list[Any]]:
    """SQL and arguments of `read_visible` (also what the load bench explains)."""
    sql, names = _visible_statement(scoping.scope_kind(principal))
    return sql, native.bind(names, {"cid": customer_id, **scoping.scope_params(principal), **params})


async def read_visible(
    session: AsyncSession, principal: Principal, customer_id: int, **params: Any
) -> asyncpg.Record | None:
    """The customer's columns (MANAGER_CUSTOMER_COLUMNS) and the managers' 360 (`doc`) in one
    statement on the pooled asyncpg connection, or None when the id is not in the caller's scope.

    Takes the parameters of the managers' `read` (first_month, history, month_start, cool_from).
    """
    sql, args = visible_query(principal, customer_id, **params)
    async with native.read_connection(session) as conn:
        return await conn.fetchrow(sql, *args)


async def read(session: AsyncSession, customer: Customer, *, audience: Audience, **params: Any) -> dict[str, Any]:
    """This audience's parts of the 360 as JSON values (one statement).

    Managers pass first_month, history, month_start and cool_from; the back office nothing more.
    """
    raw = await session.scalar(
        _STATEMENTS[audience],
        {"cid": customer.id, "plan_id": customer.plan_id, "branch_id": customer.branch_id, **params},
    )
    return json.loads(raw) if isinstance(raw, str) else raw


def identity(customer: Customer, *, audience: Audience, unmask: bool = False) -> dict[str, Any]:
    """The customer's personal fields as this audience may see them (unmask: back office only)."""
    c = customer
    if audience == "manager":
        return manager_identity(c.name, c.phone)
    if unmask:
        return {
            "name": c.name,
            "phone": c.phone,
            "id_number": c.id_number,
            "email": c.email,
            "address": c.address,
            "birthday": c.birthday,
        }
    return {
        "name": mask_name(c.name),
        "phone": mask_phone(c.phone),
        "id_number": mask_id_number(c.id_number),
        "email": None if not c.email else "***@" + c.email.split("@")[-1],
        "address": None if not c.address else c.address[:6] + "***",
        "birthday": None,
    }


def manager_identity(name: str | None, phone: str | None) -> dict[str, str | None]:
    """What a manager sees of a customer's identity: the masked name and phone, nothing else."""
    return {"name": mask_name(name), "phone": mask_phone(phone)}


def _utc(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _typed(part: str, value: Any) -> Any:
    fields = _BACKOFFICE_TIMESTAMPS.get(part, ())
    if not fields or value is None:
        return value
    if isinstance(value, list):
        return [{**row, **{f: _utc(row[f]) for f in fields}} for row in value]
    return {**value, **{f: _utc(value[f]) for f in fields}}


async def backoffice_view(session: AsyncSession, customer: Customer, *, unmask: bool) -> dict[str, Any]:
    """The back office's 360 of one customer (the caller checks `unmask` is allowed and audits it)."""
    c = customer
    doc = {part: _typed(part, value) for part, value in (await read(session, c, audience="backoffice")).items()}
    today = date.today()
    tenure = (today.year - c.join_date.year) * 12 + today.month - c.join_date.month
    plan = doc["plan"]
    return {
        "id": c.id,
        "unmasked": unmask,
        **identity(c, audience="backoffice", unmask=unmask),
        "gender": c.gender,
        "tier": c.tier,
        "status": c.status,
        "churned_on": c.churned_on,
        "join_date": c.join_date,
        "tenure_months": max(0, tenure),
        "branch": doc["branch"],
        "plan": None if plan is None else {k: plan[k] for k in ("id", "code", "name", "monthly_fee_fen")},
        "contract_end": c.contract_end,
        "do_not_disturb": c.do_not_disturb,
        "manager": doc["manager"],
        "profile": doc["profile"],
        "tags": doc["tags_since"],
        "usage_trend": doc["usage_last_12"],
        "subscriptions": doc["subscriptions"],
        "touches": doc["touches"],
        "tasks": doc["tasks"],
        "complaints": doc["complaints"],
        "handset": doc["handset"],
    }
