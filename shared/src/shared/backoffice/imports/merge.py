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

from shared.db.locking import Lock, advisory_lock
from shared.backoffice.imports.layouts import Layout
from shared.db.results import rowcount

MU_INT_COLUMNS = (
    "voice_min", "data_mb", "sms", "voice_allowance_min", "data_allowance_mb", "roaming_fen", "long_distance_fen",
    "payg_data_fen", "plan_fee_fen", "addon_fee_fen", "other_fee_fen", "bill_fen", "topup_fen", "topup_count",
    "balance_end_fen", "broadband_gb", "active_days",
)

Reason = Callable[[Row], str]  # why a deleted staging row (line_no, ...) could not be loaded


def _errors(rows: Sequence[Row], reason: Reason) -> list[dict[str, object]]:
    return [{"line": r[0], "reason": reason(r)} for r in rows]


async def _delete_returning(
    session: AsyncSession, sql: str, reason: Reason, limit_errors: int
) -> tuple[int, list[dict[str, object]]]:
    rows = (await session.execute(text(sql))).all()
    return len(rows), _errors(rows[:limit_errors], reason)


async def run_checks(session: AsyncSession, layout: Layout, stage: str, present: set[str], room: int) -> tuple[int, list]:
    """Remove staging rows that cannot be loaded; return (count, errors with line numbers)."""
    bad = 0
    errors: list[dict[str, object]] = []

    async def step(sql: str, reason: Reason) -> None:
        nonlocal bad
        n, errs = await _delete_returning(session, sql, reason, max(0, room - len(errors)))
        bad += n
        errors.extend(errs)

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
        )
    if layout.kind == "subscribers":
        await step(
            f"""
            DELETE FROM {stage} s USING customers c
            WHERE c.phone = s.phone AND c.id <> s.customer_id
            RETURNING s.line_no, c.id
            """,
            lambda r: f"msisdn already belongs to subscriber {r[1]}",
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
            )
        if "branch_code" in present:
            await step(
                f"""
                DELETE FROM {stage} s WHERE s.branch_code IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM org_units o WHERE o.code = s.branch_code AND o.kind = 'branch')
                RETURNING s.line_no, s.branch_code
                """,
                lambda r: f"unknown branch_code {r[1]}",
            )
    else:
        await step(
            f"""
            DELETE FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.customer_id)
            RETURNING s.line_no, s.customer_id
            """,
            lambda r: f"unknown subscriber_id {r[1]}",
        )
    if "plan_code" in present:
        await step(
            f"""
            DELETE FROM {stage} s WHERE s.plan_code IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM products p WHERE p.code = s.plan_code AND p.kind = 'plan')
            RETURNING s.line_no, s.plan_code
            """,
            lambda r: f"unknown plan_code {r[1]}",
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
    if layout.kind == "handsets":
        return await _merge_plain(
            session, stage, table="handsets", key=["customer_id", "started_on"],
            cols={"brand": "s.brand", "model": "s.model" if "model" in present else None, "price_band": "s.price_band",
                  "dual_sim": "coalesce(s.dual_sim, false)" if "dual_sim" in present else None},
            insert_defaults={"dual_sim": "false"},
        )
    if layout.kind == "complaints":
        return await _merge_plain(
            session, stage, table="complaints", key=["customer_id", "occurred_at", "category"],
            cols={
                "channel": "coalesce(s.channel, 'hotline')" if "channel" in present else None,
                "resolved": "coalesce(s.resolved, true)" if "resolved" in present else None,
                "satisfaction": "s.satisfaction" if "satisfaction" in present else None,
            },
            insert_defaults={"channel": "'hotline'", "resolved": "true"},
        )
    raise ValueError(layout.kind)


async def _merge_customers(session: AsyncSession, stage: str, present: set[str]) -> int:
    direct = [c for c in ("phone", "name", "id_number", "gender", "birthday", "join_date", "status", "churned_on",
                          "contract_end", "do_not_disturb", "email", "address") if c in present]
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
        INSERT INTO customers (id, {', '.join(select_cols)})
        SELECT s.customer_id, {', '.join(select_cols.values())} FROM {stage} s {joins}
        ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in update_cols)}, updated_at = now()
        WHERE {_distinct('customers', update_cols)}
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
        INSERT INTO monthly_usage ({', '.join(insert_cols)})
        SELECT {', '.join(select_vals)} FROM {stage} s {joins}
        ON CONFLICT (customer_id, month) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in update_cols)}
        WHERE {_distinct('monthly_usage', update_cols)}
    """
    return rowcount(await session.execute(text(sql)))


async def _merge_plain(
    session: AsyncSession, stage: str, *, table: str, key: list[str], cols: dict[str, str | None],
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
            UPDATE {table} t SET {', '.join(f'{c} = {e}' for c, e in given.items())}
            FROM {stage} s WHERE {on}
              AND ({', '.join(f't.{c}' for c in given)}) IS DISTINCT FROM ({', '.join(given.values())})
        """
        changed += rowcount(await session.execute(text(upd)))
    values = {k: f"s.{k}" for k in key}
    for c, default in (insert_defaults or {}).items():
        values[c] = default
    values.update(given)
    ins = f"""
        INSERT INTO {table} ({', '.join(values)})
        SELECT {', '.join(values.values())} FROM {stage} s
        WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on})
    """
    changed += rowcount(await session.execute(text(ins)))
    return changed
