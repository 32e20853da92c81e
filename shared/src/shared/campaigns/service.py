"""Campaign life cycle: draft → scheduled → running → finished (or cancelled before running).

Launch (one transaction, set-based, chunked by customer id range):
1. the campaign row moves to `running` with a guarded UPDATE (a second launch gets Conflict);
2. members are selected by the compiled audience query and written to campaign_members with a
   deterministic hold-out: holdout = ((hashtext(campaign_id || ':' || customer_id) % 100 + 100) % 100)
   < holdout_pct (the +100 keeps hashtext's negative values in 0..99). Each member row is the
   customer *as they were at launch* (`launched_at`): branch, manager, tier and the baseline ARPU
   = the bills of the three months before the launch month ÷ 3 (a month without a bill counts 0;
   NULL when there is no bill at all). Reports measure from `launched_at` over these rows and never
   re-derive the audience, so a campaign whose `starts_on` lies in the past is still measured only
   from the moment its members were drawn;
3. non-holdout members flow by `flow`: `app` → open recommendations (plus an app-push touch where
   contact pressure allows), `manager_task` → care_tasks kind `campaign` for customers with an
   assigned manager, `outbound` → touches queued for the gateway where contact pressure allows.
   Hold-out members get nothing, so the report measures true uplift. Every flow with a product
   first makes the treated members' one offer of the campaign's purpose (shared.engine.offers:
   it replaces a nightly strategy's offer, never a key moment's or another running campaign's; a
   member the channel may not reach now gets it in the app); the push, the SMS/call (touch
   `recommendation_id`, product, the offer's script as the SMS text) and the care task carry that
   offer, whichever path made it.
Outbound delivery happens after commit (`dispatch_outbound`): claimed rows are marked `sending`
and committed before the gateway is called, so a crash can lose a message but never send it twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.campaigns.query import AudienceQuery, compile_query
from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import offers
from shared.errors import Conflict, NotFound, Unprocessable
from shared.jobs import queue
from shared.jobs.queue import Task
from shared.models import Campaign, Customer, Strategy
from shared.notify import templates as sms_templates
from shared.notify.outbound import OutboundGateway, OutboundMessage, default_gateway
from shared.programme import settings as programme_settings
from shared.touches.service import OUTBOUND_CHANNELS

CHUNK = 200_000
FLOW_CHANNELS = {
    "app": ("app", "app_push"),
    "manager_task": ("manager_call", "manager_visit"),
    "outbound": ("sms", "outbound_call"),
}
EDITABLE = ("draft", "scheduled")


@dataclass(frozen=True, slots=True)
class LaunchResult:
    members: int
    holdout: int
    treated: int
    recommendations: int
    tasks: int
    queued: int
    pushed: int
    suppressed: int
    unassigned: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def _check_flow(flow: str, channel: str) -> None:
    if channel not in FLOW_CHANNELS.get(flow, ()):
        raise Unprocessable(
            "flow {flow} sends through {channels}",
            channel=channel,
            flow=flow,
            channels="/".join(FLOW_CHANNELS.get(flow, ())),
        )


async def get_campaign(session: AsyncSession, campaign_id: int, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    campaign = await session.scalar(stmt)
    if campaign is None:
        raise NotFound("campaign not found", id=campaign_id)
    return campaign


async def _check_strategy(session: AsyncSession, strategy_id: int | None) -> None:
    if strategy_id is not None and await session.get(Strategy, strategy_id) is None:
        raise Unprocessable("unknown strategy", strategy_id=strategy_id)


async def create_campaign(
    session: AsyncSession,
    *,
    name: str,
    query: AudienceQuery,
    strategy_id: int | None,
    channel: str,
    flow: str,
    starts_on: date,
    ends_on: date,
    holdout_pct: int,
    cost_per_touch_fen: int,
    created_by: int | None,
    target_retention_uplift: float | None = None,
    target_arpu_uplift_fen: int | None = None,
) -> Campaign:
    """Raises Unprocessable for an unknown strategy, a channel the flow cannot use or bad dates.

    The targets are the effect the campaign is meant to have; the report warns when its arms are
    too small to detect them (None: the programme default, `measurement` settings)."""
    _check_flow(flow, channel)
    if ends_on < starts_on:
        raise Unprocessable("ends_on is before starts_on")
    await _check_strategy(session, strategy_id)
    campaign = Campaign(
        name=name,
        query=query.model_dump(exclude_defaults=True),
        strategy_id=strategy_id,
        channel=channel,
        flow=flow,
        starts_on=starts_on,
        ends_on=ends_on,
        holdout_pct=holdout_pct,
        cost_per_touch_fen=cost_per_touch_fen,
        status="draft",
        created_by=created_by,
        target_retention_uplift=target_retention_uplift,
        target_arpu_uplift_fen=target_arpu_uplift_fen,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def update_campaign(session: AsyncSession, campaign_id: int, **fields: Any) -> tuple[Campaign, dict[str, Any]]:
    """Edit a campaign that has not started; Conflict once it runs."""
    campaign = await get_campaign(session, campaign_id, lock=True)
    if campaign.status not in EDITABLE:
        raise Conflict("only a draft or scheduled campaign can be edited", status=campaign.status)
    if isinstance(fields.get("query"), AudienceQuery):
        fields["query"] = fields["query"].model_dump(exclude_defaults=True)
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None and value != getattr(campaign, name):
            changes[name] = [getattr(campaign, name), value]
            setattr(campaign, name, value)
    _check_flow(campaign.flow, campaign.channel)
    if campaign.ends_on < campaign.starts_on:
        raise Unprocessable("ends_on is before starts_on")
    if "strategy_id" in changes:
        await _check_strategy(session, campaign.strategy_id)
    await session.flush()
    return campaign, changes


async def preview(session: AsyncSession, query: AudienceQuery, *, holdout_pct: int = 0) -> dict[str, int]:
    """How many customers the query selects now (and roughly how many would be held out)."""
    where, params = compile_query(query)
    n = await session.scalar(
        text(f"SELECT count(*) FROM customers c LEFT JOIN customer_profiles p ON p.customer_id = c.id WHERE {where}"),
        params,
    )
    return {"audience": int(n or 0), "expected_holdout": round((n or 0) * holdout_pct / 100)}


async def _transition(session: AsyncSession, campaign_id: int, *, from_: tuple[str, ...], to: str) -> Campaign:
    row = await session.scalar(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(from_))
        .values(status=to)
        .returning(Campaign.id)
    )
    if row is None:
        campaign = await get_campaign(session, campaign_id)
        raise Conflict("a {status} campaign cannot become {to}", status=campaign.status, to=to)
    return await get_campaign(session, campaign_id)


async def schedule(session: AsyncSession, campaign_id: int) -> Campaign:
    return await _transition(session, campaign_id, from_=("draft",), to="scheduled")


async def cancel(session: AsyncSession, campaign_id: int) -> Campaign:
    return await _transition(session, campaign_id, from_=EDITABLE, to="cancelled")


async def finish(session: AsyncSession, campaign_id: int) -> Campaign:
    """Stop a running campaign: its open recommendations expire; queued sends are dropped."""
    campaign = await _transition(session, campaign_id, from_=("running",), to="finished")
    await session.execute(
        text("UPDATE recommendations SET status = 'expired' WHERE campaign_id = :c AND status = 'open'"),
        {"c": campaign_id},
    )
    await session.execute(
        text("UPDATE touches SET outcome = 'cancelled' WHERE campaign_id = :c AND outcome = 'queued'"),
        {"c": campaign_id},
    )
    return campaign


_MEMBERS = """
    INSERT INTO campaign_members (campaign_id, customer_id, holdout, baseline_arpu_fen, branch_id, manager_id, tier,
                                  added_at)
    SELECT :cid, c.id,
           ((hashtext(:ckey || ':' || c.id::text) % 100) + 100) % 100 < :pct,
           -- a primary-key probe per member: linear whatever the statistics say right after an import
           (SELECT round(sum(mu.bill_fen) / 3.0) FROM monthly_usage mu
             WHERE mu.customer_id = c.id AND mu.month >= :b_from AND mu.month < :b_to),
           c.branch_id, a.manager_id, c.tier, :now
    FROM customers c
    LEFT JOIN customer_profiles p ON p.customer_id = c.id
    LEFT JOIN manager_assignments a ON a.customer_id = c.id
    WHERE c.id > :lo AND c.id <= :hi AND {where}
    ON CONFLICT DO NOTHING
"""

# Treated members that contact-pressure rules allow to be contacted on an outbound channel now.
_ELIGIBLE = """
    SELECT m.customer_id FROM campaign_members m JOIN customers c ON c.id = m.customer_id
    WHERE m.campaign_id = :cid AND NOT m.holdout AND m.customer_id > :lo AND m.customer_id <= :hi
      AND NOT c.do_not_disturb
      AND (SELECT count(*) FROM touches t WHERE t.customer_id = m.customer_id AND t.occurred_at >= :month_start) < :cap
      AND NOT EXISTS (SELECT 1 FROM touches t WHERE t.customer_id = m.customer_id AND t.outcome = 'refused'
                      AND t.occurred_at > :cool_from)
"""


async def launch(session: AsyncSession, campaign_id: int, *, now: datetime | None = None) -> LaunchResult:
    """Select members, assign the hold-out and deliver to the treated group (see module doc).

    Raises Conflict if the campaign is not draft/scheduled (so launching twice is refused).
    """
    now = now or datetime.now(clock.TZ)
    campaign = await _transition(session, campaign_id, from_=EDITABLE, to="running")
    await session.execute(update(Campaign).where(Campaign.id == campaign.id).values(launched_at=now))
    await session.refresh(campaign)
    strategy = await session.get(Strategy, campaign.strategy_id) if campaign.strategy_id else None
    where, qparams = compile_query(AudienceQuery.model_validate(campaign.query or {}))
    await session.execute(text("SET LOCAL statement_timeout = '10min'"))
    launch_month = now.astimezone(clock.TZ).date().replace(day=1)
    rules = await programme_settings.get(session, "contact_pressure")
    local_now = now.astimezone(clock.TZ)
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    expires = datetime.combine(campaign.ends_on + timedelta(days=1), time(0), clock.TZ)
    counts = dict(recommendations=0, tasks=0, queued=0, pushed=0)
    product_id = strategy.product_id if strategy else None
    script = strategy.script if strategy else None
    base = {
        "cid": campaign.id,
        "ckey": str(campaign.id),
        "pct": campaign.holdout_pct,
        "b_from": add_months(launch_month, -3),
        "b_to": launch_month,
        "month_start": month_start,
        "cap": int(rules["max_per_month"]),
        "cool_from": local_now - timedelta(days=int(rules["cool_off_days"])),
        "product": product_id,
        "script": script,
        "strategy": campaign.strategy_id,
        "cost": campaign.cost_per_touch_fen,
        "channel": campaign.channel,
        "reason": f"campaign: {campaign.name}"[:200],
        "expires": expires,
        "due": max(campaign.starts_on, local_now.date()),
        "now": now,
        "purpose": offers.purpose_of(strategy.condition) if strategy else "cross_sell",
        "offer_channel": "app" if campaign.flow == "app" else campaign.channel,
        "outbound": sorted(OUTBOUND_CHANNELS),
        "has_offer": product_id is not None,
    }
    async for lo, hi in _id_ranges(session):
        p = {**base, "lo": lo, "hi": hi}
        await session.execute(text(_MEMBERS.format(where=where)), {**p, **qparams})
        # every flow makes the members' one offer of the campaign's purpose (shared.engine.offers);
        # the push, the SMS/call and the care task below carry that offer, whichever path made it
        # (a campaign without a product only fills a free slot in the app and leaves other offers be)
        if product_id is not None or campaign.flow == "app":
            counts["recommendations"] += await offers.put_campaign_offers(
                session, p, eligible_sql=_ELIGIBLE, supersede=product_id is not None
            )
        if campaign.flow == "app":
            if campaign.channel == "app_push":
                counts["pushed"] += await _touches(session, p, outcome="delivered")
        elif campaign.flow == "manager_task":
            counts["tasks"] += rowcount(
                await session.execute(
                    text(
                        """
                INSERT INTO care_tasks (customer_id, manager_id, kind, dedupe_key, due_on, reason, product_id, script,
                                        campaign_id, status)
                SELECT m.customer_id, a.manager_id, 'campaign', 'campaign:' || :ckey || ':' || m.customer_id, :due,
                       :reason, coalesce(o.product_id, :product), coalesce(o.script, :script), :cid, 'open'
                FROM campaign_members m JOIN manager_assignments a ON a.customer_id = m.customer_id
                LEFT JOIN recommendations o ON o.customer_id = m.customer_id AND o.purpose = :purpose
                                           AND o.status = 'open' AND CAST(:has_offer AS boolean)
                WHERE m.campaign_id = :cid AND NOT m.holdout AND m.customer_id > :lo AND m.customer_id <= :hi
                ON CONFLICT (dedupe_key) DO NOTHING
                """
                    ),
                    p,
                )
            )
        else:
            counts["queued"] += await _touches(session, p, outcome="queued")
    members, holdout = (
        await session.execute(
            text("SELECT count(*), count(*) FILTER (WHERE holdout) FROM campaign_members WHERE campaign_id = :c"),
            {"c": campaign.id},
        )
    ).one()
    treated = members - holdout
    unassigned = 0
    if campaign.flow == "manager_task":
        unassigned = treated - counts["tasks"]
    suppressed = 0  # treated members contact-pressure rules kept us from contacting
    if campaign.flow == "outbound":
        suppressed = treated - counts["queued"]
    elif campaign.channel == "app_push":
        suppressed = treated - counts["pushed"]
    if counts["queued"]:
        # the sends go out on the worker (durable, retried), in this transaction: no launch without its job
        await queue.defer(
            session, Task.DISPATCH, {"campaign_id": campaign.id}, queueing_lock=f"campaigns.dispatch:{campaign.id}"
        )
    return LaunchResult(
        members=members, holdout=holdout, treated=treated, suppressed=suppressed, unassigned=unassigned, **counts
    )


async def _id_ranges(session: AsyncSession) -> AsyncIterator[tuple[int, int]]:
    """Keyset ranges (lo, hi] of CHUNK ids over customers, skipping gaps in the id space."""
    nxt = await session.scalar(select(func.min(Customer.id)))
    while nxt is not None:
        lo = nxt - 1
        yield lo, lo + CHUNK
        nxt = await session.scalar(select(func.min(Customer.id)).where(Customer.id > lo + CHUNK))


async def _touches(session: AsyncSession, p: dict[str, Any], *, outcome: str) -> int:
    """Bulk touch rows for the eligible treated members (one per member and campaign, keyed), each
    about the member's open offer of the campaign's purpose (its product and recommendation id)."""
    return rowcount(
        await session.execute(
            text(
                f"""
        INSERT INTO touches (customer_id, channel, occurred_at, campaign_id, product_id, outcome, cost_fen,
                             visible_to_customer, idempotency_key, recommendation_id)
        SELECT e.customer_id, :channel, :now, :cid, coalesce(o.product_id, :product), '{outcome}', :cost, true,
               'campaign:' || :ckey || ':' || e.customer_id, o.id
        FROM ({_ELIGIBLE}) e
        -- the customer's one open offer of the campaign's purpose: the send is about that offer
        LEFT JOIN recommendations o ON o.customer_id = e.customer_id AND o.purpose = :purpose AND o.status = 'open'
                                   AND CAST(:has_offer AS boolean)
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        """
            ),
            p,
        )
    )


def _text(row: Any, texts: dict[str, str], offer_sms: dict[str, str], body: str, *, own: bool) -> str:
    """What one claimed touch says: the member's offer (its script) where the touch carries one,
    unless the caller gave its own text."""
    if own:
        return texts.get(row.channel, body)
    if row.script and row.channel == "sms" and row.script in offer_sms:
        return offer_sms[row.script]
    if row.script and row.channel != "sms":
        return str(row.script)
    return texts.get(row.channel, body)


async def launch_due(sm: async_sessionmaker[AsyncSession], *, today: date | None = None) -> list[int]:
    """Job: launch every scheduled campaign whose start day has come (one transaction each)."""
    today = today or datetime.now(clock.TZ).date()
    async with sm() as s:
        due = (
            await s.scalars(
                select(Campaign.id)
                .where(Campaign.status == "scheduled", Campaign.starts_on <= today)
                .order_by(Campaign.id)
            )
        ).all()
    launched = []
    for cid in due:
        try:
            async with own_transaction(sm) as s:
                await launch(s, cid)
            launched.append(cid)
        except Conflict:
            continue  # launched by someone else meanwhile
    return launched


async def dispatch_outbound(
    sm: async_sessionmaker[AsyncSession],
    *,
    campaign_id: int,
    gateway: OutboundGateway | None = None,
    batch: int = 500,
    text_template: str | None = None,
    signature: str | None = None,
) -> dict[str, int]:
    """Send the campaign's queued touches through the gateway; returns counts by final outcome.

    Claim (`queued` → `sending`) and commit, then call the gateway outside any transaction, then
    record `sent` / `failed`. Concurrent dispatchers skip each other's rows (SKIP LOCKED).
    An SMS is the `campaign_offer` template around the text (signature first); a call gets the
    script as it is.
    """
    gateway = gateway or default_gateway()
    totals = {"sent": 0, "failed": 0}
    async with sm() as s:
        campaign = await get_campaign(s, campaign_id)
        strategy = await s.get(Strategy, campaign.strategy_id) if campaign.strategy_id else None
        body = text_template or (strategy.script if strategy else campaign.name)
        sms = await sms_templates.render(s, sms_templates.CAMPAIGN_OFFER, signature=signature, text=body)
    texts = {"sms": sms}
    offer_sms: dict[str, str] = {}  # the offer's own script in the SMS template, per distinct script
    while True:
        async with own_transaction(sm) as s:
            claimed = (
                await s.execute(
                    text(
                        """
                UPDATE touches t SET outcome = 'sending' FROM customers c
                WHERE t.id IN (SELECT id FROM touches WHERE campaign_id = :c AND outcome = 'queued'
                               ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
                  AND c.id = t.customer_id
                RETURNING t.id, t.customer_id, c.phone, t.channel,
                          (SELECT r.script FROM recommendations r WHERE r.id = t.recommendation_id) AS script
                """
                    ),
                    {"c": campaign_id, "n": batch},
                )
            ).all()
        if not claimed:
            return totals
        for script in {r.script for r in claimed if r.script and r.channel == "sms" and not text_template} - set(
            offer_sms
        ):
            async with sm() as s:
                offer_sms[script] = await sms_templates.render(
                    s, sms_templates.CAMPAIGN_OFFER, signature=signature, text=script
                )
        results = await gateway.send_batch(
            [
                OutboundMessage(
                    r.id,
                    r.customer_id,
                    r.phone,
                    r.channel,
                    _text(r, texts, offer_sms, body, own=text_template is not None)[:500],
                )
                for r in claimed
            ]
        )
        ok = [r.touch_id for r in results if r.ok]
        failed = [r.touch_id for r in results if not r.ok]
        async with own_transaction(sm) as s:
            for ids, outcome in ((ok, "sent"), (failed, "failed")):
                if ids:
                    await s.execute(
                        text("UPDATE touches SET outcome = :o WHERE id = ANY(:ids) AND outcome = 'sending'"),
                        {"o": outcome, "ids": ids},
                    )
        totals["sent"] += len(ok)
        totals["failed"] += len(failed)
