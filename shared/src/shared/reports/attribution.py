"""Which touch, campaign or recommendation an order is credited to: one rule, computed in SQL.

The rule (the reports print it): **last touch wins within the attribution window**. An order
(a `subscriptions` row, whatever channel placed it: the app, an SMS reply, a manager on the
customer's behalf, the hall) is credited to the latest *offer of that product to that
customer* made at most `window_days` (programme setting `measurement.attribution_days`,
default 7) before the order. Offers are
- touches that reached the customer (not queued/sending/failed/cancelled) carrying the
  product, ranked by when the customer answered them if they did so before the order (an SMS
  reply, an in-app answer), else by when they were made;
- in-app recommendations of the product, ranked by when they were made, while not expired.
Ties go to the touch, then to the newer row. Nothing is stored: the credit is recomputed from
`touches`, `recommendations` and `subscriptions` each time, so the same tables always give the
same answer (and a reader can check a row by hand with the query in README).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.programme import settings as programme_settings
from shared.touches.outcomes import NOT_CONTACT, channel_class

RULE = "last touch within {days} days: an order is credited to the latest offer of that product to that customer"

CREDIT_CTES = """
offer AS (
    SELECT o.subscription_id, o.ordered_at, 0 AS source_rank, t.id AS source_id,
           t.id AS touch_id, t.recommendation_id, t.campaign_id, t.channel, t.staff_id,
           CASE WHEN t.responded_at <= o.ordered_at THEN t.responded_at ELSE t.occurred_at END AS offered_at
    FROM o JOIN touches t ON t.customer_id = o.customer_id AND t.product_id = o.product_id
    WHERE t.outcome <> ALL(CAST(:attr_not_contact AS text[])) AND t.occurred_at <= o.ordered_at
      AND t.occurred_at >= o.ordered_at - make_interval(days => CAST(:attr_days AS int)) - interval '30 days'
    UNION ALL
    SELECT o.subscription_id, o.ordered_at, 1, r.id, NULL, r.id, r.campaign_id, 'app', NULL, r.created_at
    FROM o JOIN recommendations r ON r.customer_id = o.customer_id AND r.product_id = o.product_id
    WHERE r.created_at <= o.ordered_at AND (r.expires_at IS NULL OR r.expires_at > o.ordered_at)
),
credit AS (
    SELECT DISTINCT ON (subscription_id) subscription_id, touch_id, recommendation_id, campaign_id,
           channel AS credited_channel, staff_id AS credited_staff_id, offered_at
    FROM offer
    WHERE offered_at >= ordered_at - make_interval(days => CAST(:attr_days AS int))
    ORDER BY subscription_id, offered_at DESC, source_rank, source_id DESC
)"""
"""Spliced after a CTE `o (subscription_id, customer_id, product_id, ordered_at)`. (The
`- 30 days` bound on occurred_at only lets the index narrow the scan; an answered touch made
earlier than that is not credited.)"""


def params(window_days: int) -> dict[str, Any]:
    return {"attr_days": int(window_days), "attr_not_contact": list(NOT_CONTACT)}


async def window_days(session: AsyncSession, override: int | None = None) -> int:
    if override is not None:
        return int(override)
    return int((await programme_settings.get(session, programme_settings.MEASUREMENT))["attribution_days"])


_ORDERS = f"""
WITH o AS (
    SELECT s.id AS subscription_id, s.customer_id, s.product_id, s.created_at AS ordered_at, s.channel AS order_channel,
           s.charge_fen, s.status
    FROM subscriptions s
    WHERE s.created_at >= (CAST(CAST(:first AS date) AS timestamp) AT TIME ZONE :tz)
      AND s.created_at < CAST(CAST(:last AS date) + 1 AS timestamp) AT TIME ZONE :tz {{scope}}
), {CREDIT_CTES}
SELECT o.subscription_id, o.customer_id, o.product_id, p.name AS product_name, o.order_channel, o.charge_fen, o.status,
       o.ordered_at, cr.touch_id, cr.recommendation_id, cr.campaign_id, cr.credited_channel, cr.credited_staff_id,
       cr.offered_at
FROM o JOIN products p ON p.id = o.product_id
LEFT JOIN credit cr ON cr.subscription_id = o.subscription_id
ORDER BY o.ordered_at, o.subscription_id
"""


async def attributed_orders(
    session: AsyncSession,
    *,
    first: date,
    last: date,
    window: int,
    branch_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every order placed from `first` to `last` (local days) with what it is credited to
    (credited_* empty: no offer of that product in the window, an organic order)."""
    scope = ""
    p: dict[str, Any] = {"first": first, "last": last, "tz": clock.TZ_NAME, **params(window)}
    if branch_id is not None:
        scope = "AND s.customer_id IN (SELECT id FROM customers WHERE branch_id = :branch)"
        p["branch"] = branch_id
    rows = (await session.execute(text(_ORDERS.format(scope=scope)), p)).mappings().all()
    out = []
    for r in rows:
        row = dict(r)
        row["ordered_at"] = r["ordered_at"].astimezone(clock.TZ).isoformat()
        row["offered_at"] = r["offered_at"].astimezone(clock.TZ).isoformat() if r["offered_at"] else None
        row["credited_class"] = channel_class(r["credited_channel"]) if r["credited_channel"] else None
        row["attribution_rule"] = RULE.format(days=window)
        out.append(row)
    return out


def summarise(rows: list[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """Orders and revenue per credited campaign, channel or order channel (organic = not credited)."""
    key = {"campaign": "campaign_id", "channel": "credited_channel", "order_channel": "order_channel"}[group_by]
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        grp = (
            "organic"
            if r["subscription_id"] and r["offered_at"] is None
            else str(r[key] if r[key] is not None else "none")
        )
        g = groups.setdefault(
            grp,
            {
                "group_by": group_by,
                "group": grp,
                "orders": 0,
                "charge_fen": 0,
                "from_touches": 0,
                "from_recommendations": 0,
            },
        )
        g["orders"] += 1
        g["charge_fen"] += int(r["charge_fen"] or 0)
        if r["touch_id"] is not None:
            g["from_touches"] += 1
        elif r["recommendation_id"] is not None:
            g["from_recommendations"] += 1
    return sorted(groups.values(), key=lambda g: g["group"])
