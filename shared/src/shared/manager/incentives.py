"""Incentive points for account managers (seed 000): keeping high-risk customers in the network
and lifting their customers' value, by rules the back office edits.

Rules live in `programme_settings['manager_incentives']` (defaults in shared.programme.settings):
- `retained_high_risk_points` for each customer of the manager who was flagged high-risk (a
  `churn` care task was created for them) and is still in network when the risk window
  (`risk_window_days` from the task's due date) ends; credited in the month the window ends,
  once per customer per month;
- `uplift_points_per_yuan` for each yuan by which the plan and subscription part of a customer's
  bill in the month (`plan_fee_fen + addon_fee_fen`) exceeds its mean over the previous
  `uplift_baseline_months` bills, capped at `uplift_cap_points` per customer (customers without
  any baseline month are skipped). Pay-per-use charges (data beyond the allowance, roaming, long
  distance, other fees) do not count: a one-month spike of usage is not a value the manager built.

A monthly statement stores the rules it used and one line per customer, and is posted once
through the ledger (asset `incentive`, staff account; key `incentive:<manager>:<YYYY-MM>`).
Re-running a month returns the stored statement and posts nothing; `compute_lines` with the
stored rules reproduces the lines from the records. All managers are computed set-based, in
chunks of managers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.ledger import service as ledger
from shared.models import AccountKind, Asset, IncentiveStatement, StaffUser
from shared.programme import settings as programme_settings

SETTING_KEY = programme_settings.MANAGER_INCENTIVES
DEFAULT_RULES: dict[str, int] = programme_settings.DEFAULTS[SETTING_KEY]
CHUNK = 200

_LINES = text(
    """
    WITH assigned AS (
        SELECT manager_id, customer_id FROM manager_assignments WHERE manager_id = ANY(:managers)
    ),
    retained AS (
        SELECT DISTINCT ON (a.manager_id, a.customer_id)
               a.manager_id, a.customer_id, t.id AS task_id, t.due_on + CAST(:window AS int) AS window_end
        FROM assigned a
        JOIN care_tasks t ON t.customer_id = a.customer_id AND t.kind = 'churn'
        JOIN customers c ON c.id = a.customer_id
        WHERE t.due_on + CAST(:window AS int) BETWEEN :m_start AND :m_last
          AND NOT (c.churned_on IS NOT NULL AND c.churned_on <= t.due_on + CAST(:window AS int))
          AND NOT (c.status = 'churned' AND c.churned_on IS NULL)
        ORDER BY a.manager_id, a.customer_id, t.due_on, t.id
    ),
    uplift AS (
        SELECT a.manager_id, a.customer_id, cur.plan_fee_fen + cur.addon_fee_fen AS subscription_fen,
               avg(b.plan_fee_fen + b.addon_fee_fen) AS baseline_fen
        FROM assigned a
        JOIN monthly_usage cur ON cur.customer_id = a.customer_id AND cur.month = :m_start
        JOIN monthly_usage b ON b.customer_id = a.customer_id AND b.month >= :base_start AND b.month < :m_start
        GROUP BY a.manager_id, a.customer_id, cur.plan_fee_fen + cur.addon_fee_fen
        HAVING cur.plan_fee_fen + cur.addon_fee_fen > avg(b.plan_fee_fen + b.addon_fee_fen)
    )
    SELECT manager_id, customer_id, 'retained_high_risk' AS kind, task_id, NULL::bigint AS subscription_fen,
           NULL::numeric AS baseline_fen, CAST(:retained_points AS int) AS points
    FROM retained
    UNION ALL
    SELECT manager_id, customer_id, 'value_uplift', NULL, subscription_fen, round(baseline_fen),
           least(CAST(:cap AS int), floor((subscription_fen - baseline_fen) / 100.0 * CAST(:per_yuan AS int)))::int
    FROM uplift
    ORDER BY 1, 2, 3
    """
).bindparams(bindparam("managers", type_=ARRAY(Integer)))


async def get_rules(session: AsyncSession) -> dict[str, int]:
    return {k: int(v) for k, v in (await programme_settings.get(session, SETTING_KEY)).items()}


async def set_rules(session: AsyncSession, rules: dict[str, int], *, staff_id: int | None) -> dict[str, int]:
    merged = {**DEFAULT_RULES, **{k: int(v) for k, v in rules.items() if k in DEFAULT_RULES}}
    await programme_settings.put(session, SETTING_KEY, merged, staff_id=staff_id)
    return merged


async def compute_lines(
    session: AsyncSession, manager_ids: list[int], month: date, rules: dict[str, int]
) -> dict[int, list[dict[str, Any]]]:
    """Per manager, the statement lines for `month` under `rules` (points > 0 only)."""
    m_start = clock.month_start(month)
    rows = (
        await session.execute(
            _LINES,
            {
                "managers": list(manager_ids),
                "m_start": m_start,
                "m_last": clock.month_end_day(m_start),
                "base_start": clock.add_months(m_start, -int(rules["uplift_baseline_months"])),
                "window": int(rules["risk_window_days"]),
                "retained_points": int(rules["retained_high_risk_points"]),
                "cap": int(rules["uplift_cap_points"]),
                "per_yuan": int(rules["uplift_points_per_yuan"]),
            },
        )
    ).all()
    out: dict[int, list[dict[str, Any]]] = {m: [] for m in manager_ids}
    for r in rows:
        if int(r.points) <= 0:
            continue
        line: dict[str, Any] = {"customer_id": r.customer_id, "kind": r.kind, "points": int(r.points)}
        if r.task_id is not None:
            line["task_id"] = r.task_id
        if r.subscription_fen is not None:
            line["subscription_fen"] = int(r.subscription_fen)
            line["baseline_fen"] = int(r.baseline_fen)
        out[r.manager_id].append(line)
    return out


def statement_out(s: IncentiveStatement) -> dict[str, Any]:
    return {
        "manager_id": s.manager_id,
        "month": s.month.isoformat()[:7],
        "points": s.points,
        "rules": s.rules,
        "lines": s.lines,
        "txn_id": s.txn_id,
        "created_at": s.created_at,
    }


async def run_month(session: AsyncSession, month: date, *, actor: str | None = None) -> dict[str, int]:
    """Create and post every account manager's statement for `month` (idempotent per manager)."""
    m_start = clock.month_start(month)
    rules = await get_rules(session)
    manager_ids = list(
        (
            await session.scalars(
                select(StaffUser.id).where(StaffUser.role == "account_manager").order_by(StaffUser.id)
            )
        ).all()
    )
    created = posted_points = 0
    for i in range(0, len(manager_ids), CHUNK):
        chunk = manager_ids[i : i + CHUNK]
        lines = await compute_lines(session, chunk, m_start, rules)
        for manager_id in chunk:
            made, points = await _statement(session, manager_id, m_start, rules, lines[manager_id], actor=actor)
            created += made
            posted_points += points if made else 0
    return {"managers": len(manager_ids), "created": created, "points": posted_points}


async def _statement(
    session: AsyncSession,
    manager_id: int,
    month: date,
    rules: dict[str, int],
    lines: list[dict[str, Any]],
    *,
    actor: str | None,
) -> tuple[bool, int]:
    points = sum(int(line["points"]) for line in lines)
    inserted = await session.scalar(
        insert(IncentiveStatement)
        .values(manager_id=manager_id, month=month, points=points, rules=rules, lines=lines)
        .on_conflict_do_nothing(index_elements=["manager_id", "month"])
        .returning(IncentiveStatement.manager_id)
    )
    if inserted is None:
        return False, 0
    if points > 0:
        posted = await ledger.transfer(
            session,
            key=f"incentive:{manager_id}:{month.isoformat()[:7]}",
            kind="incentive_statement",
            asset=Asset.INCENTIVE,
            from_account=await ledger.system_account(session, "incentive:issuance"),
            to_account=await ledger.owner_account(
                session, asset=Asset.INCENTIVE, kind=AccountKind.STAFF, owner_id=manager_id
            ),
            amount=points,
            reference=f"incentive_statement:{manager_id}:{month.isoformat()[:7]}",
            actor=actor,
        )
        await session.execute(
            update(IncentiveStatement)
            .where(IncentiveStatement.manager_id == manager_id, IncentiveStatement.month == month)
            .values(txn_id=posted.txn_id)
        )
    return True, points


async def statements(
    session: AsyncSession, *, manager_ids: list[int] | None = None, month: date | None = None, limit: int = 200
) -> list[IncentiveStatement]:
    stmt = select(IncentiveStatement)
    if manager_ids is not None:
        stmt = stmt.where(IncentiveStatement.manager_id.in_(manager_ids))
    if month is not None:
        stmt = stmt.where(IncentiveStatement.month == clock.month_start(month))
    stmt = stmt.order_by(IncentiveStatement.month.desc(), IncentiveStatement.manager_id).limit(limit)
    return list((await session.scalars(stmt)).all())
