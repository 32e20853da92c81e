"""Deposit-and-rebate contracts (存就送) and recharge bonuses (充100送60) as rebate schedules.

The product's terms live in `products.eligibility` (editable through the catalog API):

- `rebate`: `{"months": 6, "total_fen": 6000}` (a fixed total) or `{"months": 12, "percent": 45}`
  (a share of the order's charge), split evenly, the remainder on the last instalment;
- `cancel_policy`: `"forfeit"` (default: pending instalments are forfeited) or `"penalty"` with
  `cancel_penalty_fen` charged from the customer's airtime;
- `min_term_months` with `early_termination`: `"refuse"` (409) or `"fee"` with
  `early_termination_fee_fen` (402 when the balance is short).

Ordering writes the schedule (instalment 1 falls due on the 1st of next month); the monthly job
(`rebates.post`) posts every due pending instalment in one set-based statement through
shared.ledger.bulk, from `airtime:rebates` to the customer's airtime, key `rebate:<sub>:<seq>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.db.transactions import own_transaction
from shared.ledger import bulk
from shared.ledger import service as ledger
from shared.models import ContractInstalment, Product, Subscription
from shared.notify import templates
from shared.notify.sms import DevSmsSender, SmsSender

_default_sender = DevSmsSender()


@dataclass(frozen=True, slots=True)
class RebateTerms:
    months: int
    total_fen: int


def rebate_terms(product: Product, charge_fen: int) -> RebateTerms | None:
    """The product's rebate schedule for an order that charged `charge_fen`, or None."""
    rule = (product.eligibility or {}).get("rebate")
    if not isinstance(rule, dict):
        return None
    months = int(rule.get("months") or 0)
    percent = int(rule.get("percent") or 0)
    total = int(rule["total_fen"]) if "total_fen" in rule else int(charge_fen) * percent // 100
    if months <= 0 or total <= 0:
        return None
    return RebateTerms(months=months, total_fen=total)


def split(total_fen: int, months: int) -> list[int]:
    """Even instalments in fen, the remainder on the last one (they always sum to the total)."""
    base = total_fen // months
    return [base] * (months - 1) + [total_fen - base * (months - 1)]


async def write_schedule(session: AsyncSession, *, sub: Subscription, product: Product, today: date) -> int:
    """Insert the subscription's instalment rows (none when the product has no rebate terms)."""
    terms = rebate_terms(product, int(sub.charge_fen))
    if terms is None:
        return 0
    first = clock.add_months(clock.month_start(today), 1)
    for seq, amount in enumerate(split(terms.total_fen, terms.months), start=1):
        session.add(
            ContractInstalment(
                subscription_id=sub.id,
                customer_id=sub.customer_id,
                seq=seq,
                instalments=terms.months,
                due_month=clock.add_months(first, seq - 1),
                amount_fen=amount,
                status="pending",
            )
        )
    await session.flush()
    return terms.months


async def forfeit_pending(session: AsyncSession, subscription_id: int) -> int:
    """Forfeit the pending instalments of a cancelled contract; returns how many."""
    result = await session.execute(
        update(ContractInstalment)
        .where(ContractInstalment.subscription_id == subscription_id, ContractInstalment.status == "pending")
        .values(status="forfeited")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def schedules_of(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    """The customer's contracts with a rebate schedule: paid, next, remaining."""
    rows = (
        await session.execute(
            select(ContractInstalment, Subscription, Product)
            .join(Subscription, Subscription.id == ContractInstalment.subscription_id)
            .join(Product, Product.id == Subscription.product_id)
            .where(ContractInstalment.customer_id == customer_id)
            .order_by(ContractInstalment.subscription_id.desc(), ContractInstalment.seq)
        )
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for inst, sub, product in rows:
        c = out.setdefault(
            sub.id,
            {
                "subscription_id": sub.id,
                "product_id": product.id,
                "product_name": product.name,
                "kind": product.kind,
                "status": sub.status,
                "starts_on": sub.starts_on,
                "ends_on": sub.ends_on,
                "charge_fen": int(sub.charge_fen),
                "instalments": inst.instalments,
                "paid_count": 0,
                "paid_fen": 0,
                "remaining_count": 0,
                "remaining_fen": 0,
                "forfeited_fen": 0,
                "next": None,
                "schedule": [],
            },
        )
        c["schedule"].append(
            {"seq": inst.seq, "due_month": inst.due_month, "amount_fen": int(inst.amount_fen), "status": inst.status}
        )
        if inst.status == "paid":
            c["paid_count"] += 1
            c["paid_fen"] += int(inst.amount_fen)
        elif inst.status == "pending":
            c["remaining_count"] += 1
            c["remaining_fen"] += int(inst.amount_fen)
            if c["next"] is None:
                c["next"] = {"seq": inst.seq, "due_month": inst.due_month, "amount_fen": int(inst.amount_fen)}
        else:
            c["forfeited_fen"] += int(inst.amount_fen)
    return list(out.values())


_POST = text(
    bulk.compose(
        """
WITH due AS (
    SELECT i.id, i.subscription_id, i.customer_id, i.seq, i.instalments, i.amount_fen, a.id AS account_id
    FROM contract_instalments i
    JOIN subscriptions s ON s.id = i.subscription_id AND s.status = 'active'
    JOIN ledger_accounts a ON a.asset = 'airtime_fen' AND a.kind = 'customer' AND a.owner_id = i.customer_id
    WHERE i.status = 'pending' AND i.due_month <= CAST(:month AS date) AND i.amount_fen > 0
    ORDER BY i.id
    FOR UPDATE OF i SKIP LOCKED
), postings AS (
    SELECT 'rebate:' || subscription_id || ':' || seq AS key, 'rebate_instalment'::text AS kind,
           'subscription:' || subscription_id AS reference,
           jsonb_build_object('instalment', seq, 'instalments', instalments, 'month', CAST(:month_s AS text)) AS memo,
           'airtime_fen'::text AS asset, CAST(:src AS bigint) AS debit_id, account_id AS credit_id,
           amount_fen AS amount, customer_id, NULL::date AS expires_on
    FROM due
),
{ledger_posting}
, marked AS (
    UPDATE contract_instalments i SET status = 'paid', paid_at = now()
    FROM due d WHERE i.id = d.id AND NOT EXISTS (SELECT 1 FROM posted_refused)
    RETURNING i.id
)
SELECT d.customer_id, d.seq, d.instalments, d.amount_fen, c.phone, p.name AS product,
       (d.id IN (SELECT id FROM marked)) AS paid,
       (('rebate:' || d.subscription_id || ':' || d.seq) IN (SELECT idempotency_key FROM posted_txns)) AS fresh,
       (SELECT count(*) FROM posted_refused) AS refused
FROM due d
JOIN customers c ON c.id = d.customer_id
JOIN subscriptions s ON s.id = d.subscription_id
JOIN products p ON p.id = s.product_id
"""
    )
)


async def post_due(
    sm: async_sessionmaker[AsyncSession], *, month: date, sender: SmsSender | None = None
) -> dict[str, Any]:
    """Post every pending instalment due by `month` (one statement), then send the SMS.

    Idempotent: a paid row is not selected again, and the ledger key `rebate:<sub>:<seq>` makes a
    replay of a crashed run post nothing (the row is then only marked paid).
    """
    month = clock.month_start(month)
    async with own_transaction(sm) as s:
        src = await ledger.system_account(s, "airtime:rebates")
        rows = (await s.execute(_POST, {"month": month, "month_s": month.strftime("%Y-%m"), "src": src})).all()
        if rows:
            bulk.raise_if_refused(int(rows[0].refused), job="rebates.post")
        texts = [
            (
                r.phone,
                await templates.render(
                    s,
                    templates.REBATE_INSTALMENT,
                    product=r.product,
                    amount_yuan=f"{int(r.amount_fen) / 100:.2f}",
                    instalment=r.seq,
                    instalments=r.instalments,
                ),
            )
            for r in rows
            if r.fresh
        ]
    out = sender or _default_sender
    for phone, body in texts:
        await out.send(phone, body)
    return {
        "month": month.strftime("%Y-%m"),
        "posted": len(texts),
        "fen": sum(int(r.amount_fen) for r in rows if r.fresh),
        "marked_paid": sum(1 for r in rows if r.paid),
    }
