"""Every contact with a customer, and the contact-pressure rules that keep customers from being
harassed (seed 002: "减少无效打扰").

Rules (programme_settings `contact_pressure`): at most `max_per_month` outbound touches
(OUTBOUND_CHANNELS, all of them together) per customer per local calendar month (default 4);
do-not-disturb customers are refused on outbound channels; inbound contact (hotline, hall, app) is
the customer's own: never refused and not counted toward the cap; no outbound contact for
`cool_off_days` (default 30) after a touch with outcome `refused` (on any channel: a refusal is
the customer's answer). The nightly engine applies the same rules in bulk SQL (features.sql
`touches_this_month` with OUTBOUND_CHANNELS bound, shared.engine.strategies).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.db.locking import Lock, advisory_lock
from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import Touch
from shared.programme import settings as programme_settings
from shared.touches.outcomes import CHANNELS, OUTCOMES, SUCCESS_OUTCOMES, normalise

__all__ = [
    "CHANNELS",
    "OUTBOUND_CHANNELS",
    "SUCCESS_OUTCOMES",
    "ContactPressure",
    "check_contact_pressure",
    "record_touch",
]
OUTBOUND_CHANNELS = frozenset({"outbound_call", "sms", "app_push", "manager_call", "manager_visit"})


class ContactPressure(Conflict):
    code = "contact_pressure"


async def record_touch(
    session: AsyncSession,
    *,
    customer_id: int,
    channel: str,
    outcome: str,
    staff_id: int | None = None,
    campaign_id: int | None = None,
    task_id: int | None = None,
    recommendation_id: int | None = None,
    product_id: int | None = None,
    cost_fen: int = 0,
    notes: str | None = None,
    key: str | None = None,
) -> Touch:
    """Record one contact. With `key`, at most one touch exists per key (a replay returns it).

    Does not check contact pressure: call `check_contact_pressure` first for proactive contacts.
    Concurrency: duplicates with the same key meet on the partial UNIQUE index; the loser reads
    the winner's row. Raises Unprocessable for an outcome or channel outside the vocabulary.
    """
    outcome = normalise(outcome)
    if outcome not in OUTCOMES:
        raise Unprocessable("unknown touch outcome", outcome=outcome, allowed=list(OUTCOMES))
    if channel not in CHANNELS:
        raise Unprocessable("unknown touch channel", channel=channel, allowed=list(CHANNELS))
    values = dict(
        customer_id=customer_id,
        channel=channel,
        outcome=outcome,
        staff_id=staff_id,
        campaign_id=campaign_id,
        task_id=task_id,
        recommendation_id=recommendation_id,
        product_id=product_id,
        cost_fen=cost_fen,
        notes=notes,
        idempotency_key=key,
    )
    if key is None:
        touch = Touch(**values)
        session.add(touch)
        await session.flush()
        return touch
    stmt = (
        insert(Touch)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"], index_where=text("idempotency_key IS NOT NULL"))
        .returning(Touch.id)
    )
    new_id = await session.scalar(stmt)
    stored = await session.scalar(
        select(Touch).where(Touch.id == new_id) if new_id else select(Touch).where(Touch.idempotency_key == key)
    )
    assert stored is not None
    return stored


async def check_contact_pressure(session: AsyncSession, *, customer_id: int, channel: str) -> None:
    """Raise ContactPressure (409, a Conflict) with `reason` if contacting now breaks a rule.

    Takes a per-customer transaction advisory lock first, so a check followed by `record_touch` in
    the same transaction cannot be overtaken by a concurrent one for the same customer.
    Raises NotFound for an unknown customer.
    """

    await advisory_lock(session, Lock.TOUCHES, customer_id)
    rules = await programme_settings.get(session, "contact_pressure")
    now_local = clock.now()
    month_start = now_local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    row = (
        await session.execute(
            text(
                """
                SELECT c.do_not_disturb,
                  (SELECT count(*) FROM touches t WHERE t.customer_id = c.id AND t.occurred_at >= :month_start
                      AND t.channel = ANY(:outbound)) AS this_month,
                  (SELECT max(t.occurred_at) FROM touches t WHERE t.customer_id = c.id AND t.outcome = 'refused'
                      AND t.occurred_at > :cool_from) AS refused_at
                FROM customers c WHERE c.id = :cid
                """
            ),
            {
                "cid": customer_id,
                "month_start": month_start,
                "outbound": sorted(OUTBOUND_CHANNELS),
                "cool_from": now_local - timedelta(days=int(rules["cool_off_days"])),
            },
        )
    ).one_or_none()
    if row is None:
        raise NotFound("customer not found", customer_id=customer_id)
    if row.do_not_disturb and channel in OUTBOUND_CHANNELS:
        raise ContactPressure("customer asked not to be disturbed", reason="do_not_disturb", channel=channel)
    if channel not in OUTBOUND_CHANNELS:
        # inbound contact (hotline, hall visit) is the customer's own initiative, not pressure
        return
    if row.refused_at is not None:
        raise ContactPressure(
            "customer refused a contact recently",
            reason="cool_off",
            until=(row.refused_at + timedelta(days=int(rules["cool_off_days"]))).isoformat(),
        )
    if row.this_month >= int(rules["max_per_month"]):
        raise ContactPressure("monthly contact limit reached", reason="monthly_cap", limit=int(rules["max_per_month"]))
