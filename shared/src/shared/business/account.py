"""Read-only account queries for one customer (the caller passes the authenticated id only).

Every query filters by `customer_id` first, so no id taken from a request can reach another
customer's rows. Personal data of the customer is masked by the routers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.business.orders import ORDERABLE_KINDS, charge_for, effective_dates, eligibility_problems
from shared.db import native
from shared.models import Customer, MonthlyUsage, Product, Subscription

_SUMMARY, _SUMMARY_NAMES = native.to_asyncpg((Path(__file__).parent / "sql" / "account_summary.sql").read_text())
BILL_LINES = ("plan_fee_fen", "addon_fee_fen", "roaming_fen", "long_distance_fen", "payg_data_fen", "other_fee_fen")


async def summary(session: AsyncSession, customer_id: int) -> dict[str, Any] | None:
    """The account summary (sql/account_summary.sql) in one round trip; None for an unknown id.

    Name and phone come back unmasked: the caller masks them. Run on the driver connection
    (`shared.db.native`): it is a third of the customer app's account-query mix.
    """
    async with native.read_connection(session) as conn:
        row = await conn.fetchrow(_SUMMARY, *native.bind(_SUMMARY_NAMES, {"cid": customer_id}))
    return dict(row) if row is not None else None


async def customer(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def subscriptions(session: AsyncSession, customer_id: int, *, active_only: bool = True) -> list[dict[str, Any]]:
    stmt = (
        select(Subscription, Product.code, Product.name, Product.kind, Product.data_mb, Product.voice_min)
        .join(Product, Product.id == Subscription.product_id)
        .where(Subscription.customer_id == customer_id)
        .order_by(Subscription.id.desc())
        .limit(200)
    )
    if active_only:
        stmt = stmt.where(Subscription.status == "active")
    out = []
    for sub, code, name, kind, data_mb, voice_min in (await session.execute(stmt)).all():
        out.append(
            {
                "id": sub.id,
                "product_id": sub.product_id,
                "product_code": code,
                "product_name": name,
                "kind": kind,
                "status": sub.status,
                "starts_on": sub.starts_on,
                "ends_on": sub.ends_on,
                "channel": sub.channel,
                "charge_fen": sub.charge_fen,
                "data_mb": data_mb,
                "voice_min": voice_min,
                "cancelled_at": sub.cancelled_at,
            }
        )
    return out


async def usage(session: AsyncSession, customer_id: int, *, month: date) -> dict[str, Any] | None:
    """Usage of `month` (or the latest month loaded before it) against the allowances.

    Allowances: the month's recorded plan allowance plus data/voice of add-ons active in it.
    """
    row = await session.scalar(
        select(MonthlyUsage)
        .where(MonthlyUsage.customer_id == customer_id, MonthlyUsage.month <= month)
        .order_by(MonthlyUsage.month.desc())
        .limit(1)
    )
    if row is None:
        return None
    addons = (
        await session.execute(
            text(
                """
                SELECT coalesce(sum(p.data_mb), 0) AS data_mb, coalesce(sum(p.voice_min), 0) AS voice_min
                FROM subscriptions s JOIN products p ON p.id = s.product_id
                WHERE s.customer_id = :c AND s.starts_on < (CAST(:m AS date) + interval '1 month')
                  AND (s.ends_on IS NULL OR s.ends_on >= CAST(:m AS date))
                  AND s.status IN ('active', 'ended', 'cancelled')
                  AND (s.status <> 'cancelled' OR s.ends_on >= CAST(:m AS date))
                """
            ),
            {"c": customer_id, "m": row.month},
        )
    ).one()
    data_allow = int(row.data_allowance_mb) + int(addons.data_mb)
    voice_allow = int(row.voice_allowance_min) + int(addons.voice_min)
    return {
        "month": row.month,
        "data": {"used_mb": row.data_mb, "allowance_mb": data_allow, "remaining_mb": max(0, data_allow - row.data_mb)},
        "voice": {
            "used_min": row.voice_min,
            "allowance_min": voice_allow,
            "remaining_min": max(0, voice_allow - row.voice_min),
        },
        "sms": {"used": row.sms},
        "payg_data_fen": row.payg_data_fen,
        "roaming_fen": row.roaming_fen,
        "long_distance_fen": row.long_distance_fen,
        "broadband_gb": row.broadband_gb,
    }


def _bill(row: MonthlyUsage) -> dict[str, Any]:
    return {
        "month": row.month,
        "total_fen": row.bill_fen,
        "lines": [
            {"item": name.removesuffix("_fen"), "amount_fen": getattr(row, name)}
            for name in BILL_LINES
            if getattr(row, name)
        ],
        "topup_fen": row.topup_fen,
        "balance_end_fen": row.balance_end_fen,
    }


async def bills(session: AsyncSession, customer_id: int, *, months: int) -> list[dict[str, Any]]:
    rows = (
        await session.scalars(
            select(MonthlyUsage)
            .where(MonthlyUsage.customer_id == customer_id)
            .order_by(MonthlyUsage.month.desc())
            .limit(months)
        )
    ).all()
    return [_bill(r) for r in rows]


async def bill(session: AsyncSession, customer_id: int, *, month: date) -> dict[str, Any] | None:
    row = await session.get(MonthlyUsage, (customer_id, month))
    return _bill(row) if row is not None else None


async def account_manager(session: AsyncSession, customer_id: int) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    """
                SELECT s.id, s.full_name, s.work_phone, o.name AS branch
                FROM manager_assignments m
                JOIN staff_users s ON s.id = m.manager_id AND s.active
                LEFT JOIN org_units o ON o.id = s.org_unit_id
                WHERE m.customer_id = :c
                """
                ),
                {"c": customer_id},
            )
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


async def contact_history(session: AsyncSession, customer_id: int, *, limit: int) -> list[dict[str, Any]]:
    rows = (
        (
            await session.execute(
                text(
                    """
                SELECT t.id, t.channel, t.occurred_at, t.outcome, p.name AS product_name,
                       (t.staff_id IS NOT NULL) AS by_staff
                FROM touches t LEFT JOIN products p ON p.id = t.product_id
                WHERE t.customer_id = :c AND t.visible_to_customer
                ORDER BY t.occurred_at DESC, t.id DESC LIMIT :n
                """
                ),
                {"c": customer_id, "n": limit},
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


async def catalogue(
    session: AsyncSession, customer: Customer, *, today: date, kind: str | None
) -> list[dict[str, Any]]:
    """Active add-ons this customer is eligible for right now (same rules as place_order)."""

    stmt = (
        select(Product)
        .where(Product.active.is_(True), Product.kind.in_(sorted(ORDERABLE_KINDS)))
        .order_by(Product.kind, Product.monthly_fee_fen)
    )
    if kind:
        stmt = stmt.where(Product.kind == kind)
    out = []
    for p in (await session.scalars(stmt.limit(500))).all():
        if await eligibility_problems(session, customer=customer, product=p, today=today):
            continue
        starts, ends = effective_dates(p, today)
        out.append(
            {
                "id": p.id,
                "code": p.code,
                "name": p.name,
                "kind": p.kind,
                "monthly_fee_fen": p.monthly_fee_fen,
                "one_time_fee_fen": p.one_time_fee_fen,
                "charge_now_fen": charge_for(p),
                "data_mb": p.data_mb,
                "voice_min": p.voice_min,
                "sms": p.sms,
                "duration_months": p.duration_months,
                "selling_points": p.selling_points,
                "starts_on": starts,
                "ends_on": ends,
            }
        )
    return out
