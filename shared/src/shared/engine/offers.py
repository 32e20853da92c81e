"""One consistent offer per customer and purpose (口径一致, issue 14).

An *offer* is an open row of `recommendations`. Four paths make one: the nightly strategies stage,
a key-moment event (`engine.events`), a campaign launch (`campaigns.service`, every flow) and,
through those, the manager's care tasks. The database holds at most ONE open offer per
(customer, purpose) — the partial unique index `uq_recommendations_open_purpose` — and every
channel reads that row: the customer app's list (`engagement.offers`), a campaign's SMS/call
(its touch carries `recommendation_id` and the offer's product; the SMS text is the offer's
script), the manager's portrait (`manager.customer360`) and the product/script of a care task.

Purpose (`PURPOSES`), from the strategy's condition (`purpose_of`): `retention` (churn risk,
persuadable, a potential-loss segment, a contract about to end; every key moment), `four_high`
(four-high care), `cross_sell` (cross-sell/upsell: everything else). A customer may hold one offer
of each purpose: a retention call does not stop the app's upsell card, but two retention offers
(an SMS for one product, the app for another) can no longer exist.

Precedence when two paths want the same slot (`ORIGIN_RANK`): key moment > campaign > nightly
strategy. A key moment is what the customer just did (a hotline call, a port-out code request):
it is the freshest and most specific signal, so it replaces anything, even an older key moment.
A campaign is a decision an operator took for a measured audience (hold-out vs treated): a nightly
rerun must not take its members' offers away, and another campaign does not take them either (the
first running campaign keeps the slot until it ends). The nightly strategy is the default that
fills an empty slot and never replaces another path's offer. A replaced offer becomes
`superseded` (history kept; touches that point at it stay true).

Concurrency: a writer first supersedes the lower-ranked open offers and then inserts with
`ON CONFLICT (customer_id, purpose) WHERE status = 'open' DO NOTHING`. An insert that met a
concurrent writer's row waits for it to commit and does nothing, so the pair repeats (each
statement sees the newly committed row) until nothing lower-ranked is left — a few passes at most.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount

PURPOSES = ("retention", "four_high", "cross_sell")
ORIGIN_RANK = {"strategy": 1, "campaign": 2, "key_moment": 3}
RETENTION_TAGS = frozenset({"contract_end_30d", "contract_end_60d", "contract_end_90d"})
MAX_PASSES = 5


def rank_sql(column: str) -> str:
    """SQL rank of an `origin` column (higher wins)."""
    return "CASE " + column + " " + " ".join(f"WHEN '{o}' THEN {r}" for o, r in ORIGIN_RANK.items()) + " ELSE 0 END"


def purpose_of(condition: Any) -> str:
    """The purpose of a strategy's offer, from its condition (see the module doc)."""
    if not isinstance(condition, dict):
        return "cross_sell"
    segments = condition.get("segment") or []
    tags = set(condition.get("tags_any") or []) | set(condition.get("tags_all") or [])
    if (
        "risk" in condition
        or "persuadable" in condition
        or (isinstance(segments, list) and "potential_loss" in segments)
        or tags & RETENTION_TAGS
    ):
        return "retention"
    if "four_high" in condition:
        return "four_high"
    return "cross_sell"


_SUPERSEDE_ONE = f"""
UPDATE recommendations SET status = 'superseded'
WHERE customer_id = :c AND purpose = :purpose AND status = 'open'
  AND {rank_sql("origin")} <= :rank
"""
_INSERT_ONE = """
INSERT INTO recommendations (customer_id, product_id, channel, script, reason, score, status, expires_at,
                             purpose, origin)
VALUES (:c, :p, :ch, :sc, :r, 1.0, 'open', now() + interval '7 days', :purpose, 'key_moment')
ON CONFLICT (customer_id, purpose) WHERE status = 'open' DO NOTHING
RETURNING id
"""


async def put_key_moment_offer(
    session: AsyncSession,
    *,
    customer_id: int,
    product_id: int | None,
    channel: str,
    script: str,
    reason: str,
    purpose: str = "retention",
) -> int | None:
    """Make this the customer's open offer of `purpose` (a key moment outranks every other path,
    and a newer key moment an older one); returns the id of the customer's open offer.

    A key moment without a product (a service complaint, an "other" call) only fills a free slot:
    it has nothing to offer, so it does not take the place of an offer that has."""
    params = {
        "c": customer_id,
        "p": product_id,
        "ch": channel,
        "sc": script,
        "r": reason,
        "purpose": purpose,
        "rank": ORIGIN_RANK["key_moment"],
    }
    for _ in range(MAX_PASSES):
        if product_id is not None:
            await session.execute(text(_SUPERSEDE_ONE), params)
        new_id = await session.scalar(text(_INSERT_ONE), params)
        if new_id is not None:
            return int(new_id)
        if product_id is None:
            break
    offer = await open_offer(session, customer_id, purpose)
    return None if offer is None else int(offer["id"])


async def open_offer(session: AsyncSession, customer_id: int, purpose: str) -> dict[str, Any] | None:
    """The customer's one open offer of this purpose (what every channel shows), or None."""
    row = (
        await session.execute(
            text(
                "SELECT id, product_id, channel, script, reason, origin FROM recommendations "
                "WHERE customer_id = :c AND purpose = :p AND status = 'open'"
            ),
            {"c": customer_id, "p": purpose},
        )
    ).one_or_none()
    return None if row is None else dict(row._mapping)


# Campaign members (treated, in the chunk): supersede nightly-strategy offers of the campaign's
# purpose, then insert the campaign's offer where the slot is free. The channel is the
# campaign's own where contact pressure allows it (`{eligible}`), else the in-app recommendation.
_SUPERSEDE_MEMBERS = f"""
UPDATE recommendations r SET status = 'superseded'
FROM campaign_members m
WHERE m.campaign_id = :cid AND NOT m.holdout AND m.customer_id > :lo AND m.customer_id <= :hi
  AND r.customer_id = m.customer_id AND r.customer_id > :lo AND r.customer_id <= :hi
  AND r.purpose = :purpose AND r.status = 'open' AND {rank_sql("r.origin")} < :rank
"""
_INSERT_MEMBERS = """
INSERT INTO recommendations (customer_id, strategy_id, campaign_id, product_id, channel, script, reason,
                             score, status, expires_at, purpose, origin)
SELECT m.customer_id, :strategy, :cid, :product,
       CASE WHEN CAST(:offer_channel AS text) <> ALL(CAST(:outbound AS text[]))
              OR m.customer_id IN (SELECT e.customer_id FROM ({eligible}) e) THEN CAST(:offer_channel AS text)
            ELSE 'app' END,
       :script, :reason, 1.0, 'open', :expires, :purpose, 'campaign'
FROM campaign_members m
WHERE m.campaign_id = :cid AND NOT m.holdout AND m.customer_id > :lo AND m.customer_id <= :hi
ON CONFLICT (customer_id, purpose) WHERE status = 'open' DO NOTHING
"""


async def put_campaign_offers(
    session: AsyncSession, params: dict[str, Any], *, eligible_sql: str, supersede: bool = True
) -> int:
    """Set-based over one chunk of a campaign's treated members; returns the offers written.
    `supersede=False` (a campaign without a product) only fills free slots.

    `params` carries cid, lo, hi, strategy, product, script, reason, expires, purpose,
    offer_channel, outbound and whatever `eligible_sql` binds.
    """
    p = {**params, "rank": ORIGIN_RANK["campaign"]}
    insert = text(_INSERT_MEMBERS.format(eligible=eligible_sql))
    written = 0
    if not supersede:
        return rowcount(await session.execute(insert, p))
    for n in range(MAX_PASSES):
        superseded = rowcount(await session.execute(text(_SUPERSEDE_MEMBERS), p))
        if n and not superseded:
            break  # the last insert met nothing lower-ranked that a concurrent writer had added
        written += rowcount(await session.execute(insert, p))
    return written
