"""Set-based checks and merges from a staging table into the real tables.

Every statement is built from the whitelisted layout columns (never from request text) and runs
once over the whole staging table. Checks delete the offending staging rows and return their
line numbers with a reason; merges only write rows that differ (`IS DISTINCT FROM`), so loading
the same file twice changes nothing and reports 0 changed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.backoffice.imports.layouts import Layout
from shared.backoffice.imports.quality import DUPLICATE, Reasons
from shared.db.locking import Lock, advisory_lock
from shared.db.results import rowcount

MU_INT_COLUMNS = (
    "voice_min",
    "data_mb",
    "sms",
    "voice_allowance_min",
    "data_allowance_mb",
    "roaming_fen",
    "long_distance_fen",
    "payg_data_fen",
    "plan_fee_fen",
    "addon_fee_fen",
    "other_fee_fen",
    "bill_fen",
    "topup_fen",
    "topup_count",
    "balance_end_fen",
    "broadband_gb",
    "active_days",
)

Reason = Callable[[Row], str]  # why a deleted staging row (line_no, ...) could not be loaded


def _errors(rows: Sequence[Row], reason: Reason) -> list[dict[str, object]]:
    return [{"line": r[0], "reason": reason(r)} for r in rows]


def _unknown(col: str) -> Reason:
    """The reason for a code that names no known row; binds `col` now, not at call time."""
    return lambda r: f"unknown {col} {r[1]}"


async def _delete_returning(
    session: AsyncSession, sql: str, reason: Reason, limit_errors: int
) -> tuple[int, list[dict[str, object]]]:
    rows = (await session.execute(text(sql))).all()
    return len(rows), _errors(rows[:limit_errors], reason)


async def run_checks(
    session: AsyncSession,
    layout: Layout,
    stage: str,
    present: set[str],
    room: int,
    reasons: Reasons | None = None,
) -> tuple[int, list]:
    """Remove staging rows that cannot be loaded; return (count, errors with line numbers).
    Every removed row is counted in `reasons` by its code."""
    bad = 0
    errors: list[dict[str, object]] = []
    counts = reasons if reasons is not None else Reasons()

    async def step(sql: str, reason: Reason, code: str) -> None:
        nonlocal bad
        n, errs = await _delete_returning(session, sql, reason, max(0, room - len(errors)))
        bad += n
        errors.extend(errs)
        if n:
            counts[code] += n

    key = ", ".join(layout.key)
    has_dupes = await session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {stage} GROUP BY {key} HAVING count(*) > 1)"))
    if has_dupes:
        await step(
            f"""
            DELETE FROM {stage} s USING (
                SELECT line_no, min(line_no) OVER (PARTITION BY {key}) AS first_line FROM {stage}
            ) d
            WHERE s.line_no = d.line_no AND d.line_no <> d.first_line
            RETURNING s.line_no, d.first_line
            """,
            lambda r: f"same key as line {r[1]}",
            DUPLICATE,
        )
    if layout.kind == "subscribers":
        await step(
            f"""
            DELETE FROM {stage} s USING customers c
            WHERE c.phone = s.phone AND c.id <> s.customer_id
            RETURNING s.line_no, c.id
            """,
            lambda r: f"msisdn already belongs to subscriber {r[1]}",
            "phone_taken",
        )
        phone_dupes = await session.scalar(
            text(f"SELECT EXISTS (SELECT 1 FROM {stage} GROUP BY phone HAVING count(*) > 1)")
        )
        if phone_dupes:
            await step(
                f"""
                DELETE FROM {stage} s USING (
                    SELECT line_no, min(line_no) OVER (PARTITION BY phone) AS first_line FROM {stage}
                ) d
                WHERE s.line_no = d.line_no AND d.line_no <> d.first_line
                RETURNING s.line_no, d.first_line
                """,
                lambda r: f"msisdn also on line {r[1]}",
                "phone_repeated",
            )
        if "branch_code" in present:
            await step(
                f"""
                DELETE FROM {stage} s WHERE s.branch_code IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM org_units o WHERE o.code = s.branch_code AND o.kind = 'branch')
                RETURNING s.line_no, s.branch_code
                """,
                lambda r: f"unknown branch_code {r[1]}",
                "unknown_branch",
            )
    else:
        await step(
            f"""
            DELETE FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.customer_id)
            RETURNING s.line_no, s.customer_id
            """,
            lambda r: f"unknown subscriber_id {r[1]}",
            "unknown_subscriber",
        )
    if "plan_code" in present:
        await step(
            f"""
            DELETE FROM {stage} s WHERE s.plan_code IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM products p WHERE p.code = s.plan_code AND p.kind = 'plan')
            RETURNING s.line_no, s.plan_code
            """,
            lambda r: f"unknown plan_code {r[1]}",
            "unknown_plan",
        )
    for col, kind_filter, code in (
        ("product_code", "", "unknown_product"),
        ("to_plan_code", " AND p.kind = 'plan'", "unknown_plan"),
        ("from_plan_code", " AND p.kind = 'plan'", "unknown_plan"),
    ):
        if col in present:
            await step(
                f"""
                DELETE FROM {stage} s WHERE s.{col} IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM products p WHERE p.code = s.{col}{kind_filter})
                RETURNING s.line_no, s.{col}
                """,
                _unknown(col),
                code,
            )
    return bad, errors


def _distinct(table: str, cols: list[str]) -> str:
    if not cols:
        return "false"
    return f"({', '.join(f'{table}.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in cols)})"


async def merge(session: AsyncSession, layout: Layout, stage: str, present: set[str]) -> int:
    """Write the staging rows into the target table; return rows inserted or changed."""
    if layout.kind == "subscribers":
        return await _merge_customers(session, stage, present)
    if layout.kind in ("usage", "bills"):
        return await _merge_usage(session, stage, present)
    if layout.kind == "daily_usage":
        return await _merge_daily_usage(session, stage, present)
    if layout.kind == "handsets":
        return await _merge_plain(
            session,
            stage,
            table="handsets",
            key=["customer_id", "started_on"],
            cols={
                "brand": "s.brand",
                "model": "s.model" if "model" in present else None,
                "price_band": "s.price_band",
                "dual_sim": "coalesce(s.dual_sim, false)" if "dual_sim" in present else None,
            },
            insert_defaults={"dual_sim": "false"},
        )
    if layout.kind == "complaints":
        return await _merge_plain(
            session,
            stage,
            table="complaints",
            key=["customer_id", "occurred_at", "category"],
            cols={
                "channel": "coalesce(s.channel, 'hotline')" if "channel" in present else None,
                "resolved": "coalesce(s.resolved, true)" if "resolved" in present else None,
                "satisfaction": "s.satisfaction" if "satisfaction" in present else None,
            },
            insert_defaults={"channel": "'hotline'", "resolved": "true"},
        )
    if layout.kind in FEED_MERGES:
        return await FEED_MERGES[layout.kind](session, stage, present)
    raise ValueError(layout.kind)


async def _merge_customers(session: AsyncSession, stage: str, present: set[str]) -> int:
    direct = [
        c
        for c in (
            "phone",
            "name",
            "id_number",
            "gender",
            "birthday",
            "join_date",
            "status",
            "churned_on",
            "contract_end",
            "do_not_disturb",
            "email",
            "address",
        )
        if c in present
    ]
    select_cols: dict[str, str] = {c: f"s.{c}" for c in direct}
    select_cols["phone_last4"] = "right(s.phone, 4)"
    if "status" in present:
        select_cols["status"] = "coalesce(s.status, 'active')"
    if "do_not_disturb" in present:
        select_cols["do_not_disturb"] = "coalesce(s.do_not_disturb, false)"
    joins = ""
    if "plan_code" in present:
        select_cols["plan_id"] = "p.id"
        joins += " LEFT JOIN products p ON p.code = s.plan_code AND p.kind = 'plan'"
    if "branch_code" in present:
        select_cols["branch_id"] = "o.id"
        joins += " LEFT JOIN org_units o ON o.code = s.branch_code AND o.kind = 'branch'"
    update_cols = [c for c in select_cols]
    sql = f"""
        INSERT INTO customers (id, {", ".join(select_cols)})
        SELECT s.customer_id, {", ".join(select_cols.values())} FROM {stage} s {joins}
        ON CONFLICT (id) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in update_cols)}, updated_at = now()
        WHERE {_distinct("customers", update_cols)}
    """
    return rowcount(await session.execute(text(sql)))


async def _merge_usage(session: AsyncSession, stage: str, present: set[str]) -> int:
    months = (await session.execute(text(f"SELECT DISTINCT month FROM {stage} ORDER BY 1"))).scalars().all()
    for m in months:
        await session.execute(text("SELECT ensure_usage_partition(:m)"), {"m": m})
    given = [c for c in MU_INT_COLUMNS if c in present]
    insert_cols = ["customer_id", "month", *MU_INT_COLUMNS]
    select_vals = ["s.customer_id", "s.month", *[(f"s.{c}" if c in present else "0") for c in MU_INT_COLUMNS]]
    joins = ""
    update_cols = list(given)
    if "plan_code" in present:
        insert_cols.append("plan_id")
        select_vals.append("p.id")
        joins = " LEFT JOIN products p ON p.code = s.plan_code AND p.kind = 'plan'"
        update_cols.append("plan_id")
    sql = f"""
        INSERT INTO monthly_usage ({", ".join(insert_cols)})
        SELECT {", ".join(select_vals)} FROM {stage} s {joins}
        ON CONFLICT (customer_id, month) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in update_cols)},
            updated_at = now()
        WHERE {_distinct("monthly_usage", update_cols)}
    """
    return rowcount(await session.execute(text(sql)))


DU_INT_COLUMNS = ("voice_min", "data_mb", "sms", "roaming_fen", "long_distance_fen", "payg_data_fen")


async def _merge_daily_usage(session: AsyncSession, stage: str, present: set[str]) -> int:
    """Upsert by (customer, day); a column left out of the file keeps its value (0 on insert)."""
    cols = {"customer_id": "s.customer_id", "day": "s.day"}
    cols.update({c: (f"s.{c}" if c in present else "0") for c in DU_INT_COLUMNS})
    given = [c for c in DU_INT_COLUMNS if c in present]
    sql = f"""
        INSERT INTO daily_usage ({", ".join(cols)})
        SELECT {", ".join(cols.values())} FROM {stage} s
        ON CONFLICT (customer_id, day) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in given)},
            updated_at = now()
        WHERE {_distinct("daily_usage", given)}
    """
    return rowcount(await session.execute(text(sql)))


async def _merge_plain(
    session: AsyncSession,
    stage: str,
    *,
    table: str,
    key: list[str],
    cols: dict[str, str | None],
    insert_defaults: dict[str, str] | None = None,
) -> int:
    """Tables without a unique business key: UPDATE where different, then INSERT where missing.

    A transaction-scoped advisory lock per table serialises concurrent imports of the same kind,
    so two of them cannot both insert the same row.
    """
    await advisory_lock(session, Lock.IMPORT, table)
    given = {c: expr for c, expr in cols.items() if expr is not None}
    on = " AND ".join(f"t.{k} = s.{k}" for k in key)
    changed = 0
    if given:
        upd = f"""
            UPDATE {table} t SET {", ".join(f"{c} = {e}" for c, e in given.items())}{_stamp(table)}
            FROM {stage} s WHERE {on}
              AND ({", ".join(f"t.{c}" for c in given)}) IS DISTINCT FROM ({", ".join(given.values())})
        """
        changed += rowcount(await session.execute(text(upd)))
    values = {k: f"s.{k}" for k in key}
    for c, default in (insert_defaults or {}).items():
        values[c] = default
    values.update(given)
    ins = f"""
        INSERT INTO {table} ({", ".join(values)})
        SELECT {", ".join(values.values())} FROM {stage} s
        WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on})
    """
    changed += rowcount(await session.execute(text(ins)))
    return changed


# --- feeds: every row carries the source system's record id (staging column source_ref), and a
# --- record loaded again updates its row (only where something differs), never adds one.


# tables whose rows carry updated_at: a changed row is stamped, so the incremental night finds it
STAMPED = frozenset({"customers", "monthly_usage", "complaints", "competitor_calls", "handsets"})


def _stamp(table: str) -> str:
    return ", updated_at = now()" if table in STAMPED else ""


def _opt(present: set[str], col: str, expr: str | None = None, default: str = "NULL") -> str:
    return (expr or f"s.{col}") if col in present else default


def _upsert_sql(table: str, cols: dict[str, str], conflict: str, update: list[str], source: str) -> str:
    return f"""
        INSERT INTO {table} ({", ".join(cols)})
        SELECT {", ".join(cols.values())} FROM {source}
        ON CONFLICT {conflict} DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in update)}{_stamp(table)}
        WHERE {_distinct(table, update)}
    """


async def _merge_competitor_calls(session: AsyncSession, stage: str, present: set[str]) -> int:
    cols = {
        "source_ref": "s.source_ref",
        "customer_id": "s.customer_id",
        "called_at": "s.called_at",
        "competitor": "s.competitor",
        "duration_s": _opt(present, "duration_s", default="0"),
    }
    update = [c for c in cols if c != "source_ref" and (c != "duration_s" or "duration_s" in present)]
    sql = _upsert_sql("competitor_calls", cols, "(source_ref) WHERE source_ref IS NOT NULL", update, f"{stage} s")
    return rowcount(await session.execute(text(sql)))


async def _merge_subscriptions(session: AsyncSession, stage: str, present: set[str]) -> int:
    cols = {
        "customer_id": "s.customer_id",
        "product_id": "p.id",
        "idempotency_key": "'feed:' || s.source_ref",
        "status": _opt(present, "status", "coalesce(s.status, 'active')", "'active'"),
        "starts_on": "s.starts_on",
        "ends_on": _opt(present, "ends_on"),
        "cancelled_at": _opt(
            present, "cancelled_at", "coalesce(s.cancelled_at, CASE WHEN s.status = 'cancelled' THEN now() END)"
        ),
        "channel": _opt(present, "channel", "coalesce(s.channel, 'billing')", "'billing'"),
        "charge_fen": _opt(present, "charge_fen", default="0"),
    }
    keep = {"customer_id", "idempotency_key"}
    update = [c for c in cols if c not in keep and (c in present or c in ("product_id", "starts_on"))]
    sql = _upsert_sql(
        "subscriptions",
        cols,
        "(customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
        update,
        f"{stage} s JOIN products p ON p.code = s.product_code",
    )
    return rowcount(await session.execute(text(sql)))


async def _merge_contacts(session: AsyncSession, stage: str, present: set[str]) -> int:
    cols = {
        "customer_id": "s.customer_id",
        "channel": "s.channel",
        "occurred_at": "s.occurred_at",
        "outcome": "s.outcome",
        "notes": _opt(present, "notes"),
        "cost_fen": _opt(present, "cost_fen", default="0"),
        "visible_to_customer": "true",
        "idempotency_key": "'feed:' || s.source_ref",
    }
    update = ["customer_id", "channel", "occurred_at", "outcome", *[c for c in ("notes", "cost_fen") if c in present]]
    sql = _upsert_sql("touches", cols, "(idempotency_key) WHERE idempotency_key IS NOT NULL", update, f"{stage} s")
    return rowcount(await session.execute(text(sql)))


async def _merge_topups(session: AsyncSession, stage: str, present: set[str]) -> int:
    cols = {
        "source_ref": "s.source_ref",
        "customer_id": "s.customer_id",
        "paid_at": "s.paid_at",
        "amount_fen": "s.amount_fen",
        "kind": _opt(present, "kind", "coalesce(s.kind, 'topup')", "'topup'"),
        "channel": _opt(present, "channel"),
    }
    update = [c for c in cols if c != "source_ref" and (c in present or c in ("customer_id", "paid_at", "amount_fen"))]
    # the months whose totals change: the rows' months now, and the months an updated row moved from
    await session.execute(
        text(f"""
        CREATE TEMP TABLE {stage}_months ON COMMIT DROP AS
        SELECT DISTINCT s.customer_id, date_trunc('month', s.paid_at AT TIME ZONE :tz)::date AS month FROM {stage} s
        UNION
        SELECT t.customer_id, date_trunc('month', t.paid_at AT TIME ZONE :tz)::date FROM topups t
        JOIN {stage} s ON s.source_ref = t.source_ref
    """),
        {"tz": clock.TZ_NAME},
    )
    changed = rowcount(await session.execute(text(_upsert_sql("topups", cols, "(source_ref)", update, f"{stage} s"))))
    await session.execute(
        text(f"""
        UPDATE monthly_usage u SET topup_fen = t.fen, topup_count = t.n
        FROM (
            SELECT m.customer_id, m.month, coalesce(sum(tp.amount_fen), 0) AS fen, count(tp.id) AS n
            FROM {stage}_months m
            LEFT JOIN topups tp ON tp.customer_id = m.customer_id
                 AND tp.paid_at >= (m.month::timestamp AT TIME ZONE :tz)
                 AND tp.paid_at < ((m.month + interval '1 month')::timestamp AT TIME ZONE :tz)
            GROUP BY 1, 2
        ) t
        WHERE u.customer_id = t.customer_id AND u.month = t.month
          AND (u.topup_fen, u.topup_count) IS DISTINCT FROM (t.fen, t.n)
    """),
        {"tz": clock.TZ_NAME},
    )
    return changed


async def _merge_plan_changes(session: AsyncSession, stage: str, present: set[str]) -> int:
    cols = {
        "source_ref": "s.source_ref",
        "customer_id": "s.customer_id",
        "changed_at": "s.changed_at",
        "from_plan_id": "f.id" if "from_plan_code" in present else "NULL",
        "to_plan_id": "t.id",
        "channel": _opt(present, "channel"),
    }
    update = [
        c
        for c in cols
        if c != "source_ref"
        and (c != "from_plan_id" or "from_plan_code" in present)
        and (c != "channel" or "channel" in present)
    ]
    source = f"{stage} s JOIN products t ON t.code = s.to_plan_code AND t.kind = 'plan'"
    if "from_plan_code" in present:
        source += " LEFT JOIN products f ON f.code = s.from_plan_code AND f.kind = 'plan'"
    changed = rowcount(await session.execute(text(_upsert_sql("plan_changes", cols, "(source_ref)", update, source))))
    # each loaded subscriber's latest change (of all loaded so far) is their current plan; an app
    # change still waiting for its month (`scheduled`) or withdrawn (`cancelled`) is not
    await session.execute(
        text(f"""
        UPDATE customers c SET plan_id = l.to_plan_id, updated_at = now()
        FROM (
            SELECT DISTINCT ON (pc.customer_id) pc.customer_id, pc.to_plan_id
            FROM plan_changes pc WHERE pc.customer_id IN (SELECT customer_id FROM {stage}) AND pc.status = 'applied'
            ORDER BY pc.customer_id, pc.changed_at DESC, pc.id DESC
        ) l
        WHERE c.id = l.customer_id AND c.plan_id IS DISTINCT FROM l.to_plan_id
    """)
    )
    return changed


FEED_MERGES = {
    "competitor_calls": _merge_competitor_calls,
    "subscriptions": _merge_subscriptions,
    "contacts": _merge_contacts,
    "topups": _merge_topups,
    "plan_changes": _merge_plan_changes,
}
