"""Strategy matching (seed 002: two lists mapped onto each other — customer groups and the
product/service library — each match with a channel and a script).

A strategy's `condition` is JSON with optional keys: segment, sub_segment, stage, tier, risk,
four_high, cluster (lists of values), tags_all / tags_any (tag codes), rule (a tag rule tree) and
persuadable (true: the churn model's uplift score says a contact lowers this customer's churn
probability by at least PERSUADABLE_MIN; customers who churn anyway or never would are left out).
It is compiled by the same whitelist compiler as tags; values are bound, never interpolated.
Each customer gets the first matching active strategy by ascending `priority`; a recommendation
is written only under the contact-pressure rules. It goes out on the customer's preferred channel
(profile) when that channel may carry it now, else on the strategy's channel, else as the in-app
recommendation (inbound: never capped): a customer over the monthly cap, in a refusal's cool-off or
do-not-disturb is offered in the app instead of skipped. A dismissal of the same strategy still
holds it back for the cool-off. It fills the customer's one open offer of the strategy's purpose
and never replaces a campaign's or a key moment's (shared.engine.offers).
A retention strategy (condition on `risk` or `persuadable`) takes its product, script and reason
from the offer that fits the customer's cause within their budget (shared.engine.retention_offers).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.results import rowcount
from shared.db.transactions import own_transaction
from shared.engine import incremental, offers, retention_offers
from shared.engine.jobs import RunContext
from shared.engine.rules import CHUNK_FROM_CLAUSE, FROM_CLAUSE, Compiler, RuleError
from shared.logging import get_logger
from shared.programme import settings as programme_settings
from shared.touches.service import CHANNELS, OUTBOUND_CHANNELS

log = get_logger(__name__)
_LIST_KEYS = {
    "segment": "segment",
    "sub_segment": "sub_segment",
    "stage": "lifecycle_stage",
    "tier": "tier",
    "risk": "risk_level",
    "cluster": "cluster_id",
}
ALLOWED_KEYS = set(_LIST_KEYS) | {"four_high", "tags_all", "tags_any", "rule", "persuadable"}
PERSUADABLE_MIN = 0.02  # uplift_score: 2 points of churn probability prevented by one contact


def compile_condition(compiler: Compiler, condition: Any, tag_ids: dict[str, int]) -> str:
    """SQL predicate over `rules.from_clause()` for a strategy condition. Raises RuleError."""
    if not isinstance(condition, dict):
        raise RuleError("condition must be an object")
    unknown = set(condition) - ALLOWED_KEYS
    if unknown:
        raise RuleError(
            "unknown condition keys", keys=sorted(str(k)[:40] for k in unknown), allowed=sorted(ALLOWED_KEYS)
        )
    nodes: list[dict[str, Any]] = []
    for key, field in _LIST_KEYS.items():
        if key in condition:
            nodes.append({"field": field, "op": "in", "value": condition[key]})
    if "four_high" in condition:
        nodes.append({"field": "four_high", "op": "contains_any", "value": condition["four_high"]})
    if "persuadable" in condition:
        if condition["persuadable"] is not True:
            raise RuleError("'persuadable' must be true (leave it out to match everyone)")
        nodes.append({"field": "uplift_score", "op": ">=", "value": PERSUADABLE_MIN})
    if "rule" in condition:
        nodes.append(condition["rule"])
    parts = [compiler.compile({"all": nodes})] if nodes else []
    for key in ("tags_all", "tags_any"):
        if key not in condition:
            continue
        codes = condition[key]
        if not isinstance(codes, list) or not codes or len(codes) > 50 or not all(isinstance(c, str) for c in codes):
            raise RuleError("'{key}' must be a list of 1..50 tag codes", key=key)
        missing = [c for c in codes if c not in tag_ids]
        if missing:
            raise RuleError("unknown tag codes", codes=missing[:20])
        ids = compiler._bind([tag_ids[c] for c in codes], "int[]")
        op = "&&" if key == "tags_any" else "@>"  # overlaps any / contains all
        parts.append(f"coalesce(ts.tag_ids {op} {ids}, false)")
    return " AND ".join(parts) if parts else "TRUE"


def named_tags(strategies: Any, codes: dict[str, int]) -> list[int]:
    """The tag ids the strategies' conditions name (tags_all / tags_any)."""
    out: set[int] = set()
    for _, _, condition, _ in strategies:
        if isinstance(condition, dict):
            for key in ("tags_all", "tags_any"):
                items = condition.get(key)
                if isinstance(items, list):
                    out.update(codes[c] for c in items if isinstance(c, str) and c in codes)
    return sorted(out)


def is_retention(condition: Any) -> bool:
    """A strategy aimed at churn risk (`risk` or `persuadable`): its offer comes from the cause mapping."""
    return isinstance(condition, dict) and ("risk" in condition or "persuadable" in condition)


async def tag_codes(session: AsyncSession) -> dict[str, int]:
    return {
        code: tid
        for tid, code in (await session.execute(text("SELECT id, code FROM tag_definitions WHERE active"))).all()
    }


async def validate_condition(session: AsyncSession, condition: Any) -> None:
    compile_condition(Compiler("v"), condition, await tag_codes(session))


DEFAULTS: list[dict[str, Any]] = [
    # before the plain high-risk rule: spend the call on those a call changes (no uplift model, no match)
    {
        "name": "可挽回客户:专属关怀回访",
        "priority": 4,
        "channel": "outbound_call",
        "product_kind": None,  # a retention strategy: the offer fits the cause
        "condition": {"persuadable": True},
        "script": "您好,我们注意到您最近的使用有些变化,专门为您准备了老客户关怀礼包,您看需要为您办理吗?",
    },
    {
        "name": "高危客户挽留:对因施策",
        "priority": 5,
        "channel": "outbound_call",
        "product_kind": None,  # a retention strategy: the offer fits the cause (shared.engine.offers)
        "condition": {"risk": ["high"]},
        "script": "您好,感谢您多年来的支持。为回馈老客户,现在充值即可连续 6 个月获赠话费和流量,您看需要为您办理吗?",
    },
    {
        "name": "网络待修复:宽带提速与上门优化",
        "priority": 10,
        "channel": "outbound_call",
        "product_kind": "broadband",
        "condition": {"segment": ["potential_loss"], "sub_segment": ["network"]},
        "script": "了解到您近期网络体验不佳,我们已安排工程师检测。同时可为您免费提速并优化家庭 WiFi 覆盖。",
    },
    {
        "name": "合约到期续约",
        "priority": 12,
        "channel": "outbound_call",
        "product_kind": "contract",
        "condition": {"tags_any": ["contract_end_30d"]},
        "script": "您的合约即将到期,续约可继续享受每月话费返还和专属优惠,需要为您介绍续约方案吗?",
    },
    {
        "name": "四高-高套外流量:推荐流量包",
        "priority": 15,
        "channel": "sms",
        "product_kind": "data_pack",
        "condition": {"four_high": ["payg_data"]},
        "script": "您上月产生了较多套外流量费,办理流量包每月可节省不少费用,回复 1 立即办理。",
    },
    {
        "name": "四高-高资费:长途漫游优惠",
        "priority": 16,
        "channel": "sms",
        "product_kind": "voice_pack",
        "condition": {"four_high": ["tariff"]},
        "script": "您近期长途/漫游费用较高,推荐您办理优惠可选包,长话长聊更省心。",
    },
    {
        "name": "四高-高沉默:资源使用提醒",
        "priority": 17,
        "channel": "sms",
        "product_kind": None,
        "condition": {"four_high": ["silence"]},
        "script": "温馨提示:您的套餐内还有大量通话分钟和流量未使用,别浪费哦。",
    },
    {
        "name": "四高-高ARPU:套餐迁移",
        "priority": 18,
        "channel": "outbound_call",
        "product_kind": "plan",
        "condition": {"four_high": ["arpu_mismatch"]},
        "script": "根据您的使用情况,我们为您匹配了更合适的套餐,每月可节省费用且满足日常需要。",
    },
    {
        "name": "资费待修复:存费送费合约",
        "priority": 20,
        "channel": "outbound_call",
        "product_kind": "contract",
        "condition": {"segment": ["potential_loss"], "sub_segment": ["tariff"]},
        "script": "现在预存话费签约,合约期内每月返还 40%–50%,比现在更划算,需要为您办理吗?",
    },
    {
        "name": "服务满意度待修复:专人回访",
        "priority": 30,
        "channel": "outbound_call",
        "product_kind": None,
        "condition": {"segment": ["potential_loss"], "sub_segment": ["service"]},
        "script": "您好,针对您之前反映的问题,我是专门负责跟进的客户经理,想了解问题是否已解决。",
    },
    {
        "name": "资源紧张型:流量包/套餐升档",
        "priority": 40,
        "channel": "app",
        "product_kind": "data_pack",
        "condition": {"sub_segment": ["resource_shortage"]},
        "script": "您的流量经常不够用,推荐加装流量包,比套外计费省一半以上。",
    },
    {
        "name": "资源充裕型:亲情共享",
        "priority": 50,
        "channel": "app",
        "product_kind": "family",
        "condition": {"sub_segment": ["resource_surplus"]},
        "script": "您的套餐资源充裕,可以开通亲情共享,把用不完的流量分给家人。",
    },
    {
        "name": "低频使用型:视频会员权益",
        "priority": 60,
        "channel": "app",
        "product_kind": "membership",
        "condition": {"sub_segment": ["low_frequency"]},
        "script": "开通视频会员权益,追剧看球更畅快,会员期内定向流量免费。",
    },
    {
        "name": "高价值稳态:合约优惠",
        "priority": 70,
        "channel": "outbound_call",
        "product_kind": "contract",
        "condition": {"segment": ["stable"], "sub_segment": ["high_value"]},
        "script": "作为我们的高价值客户,您可以享受专属合约优惠:承诺在网即享话费/购机优惠。",
    },
    {
        "name": "稳态客户:宽带融合",
        "priority": 80,
        "channel": "app",
        "product_kind": "broadband",
        "condition": {"segment": ["stable"], "tags_any": ["pref_broadband"]},
        "script": "手机用户加装宽带,融合套餐月费更低,还送智慧家庭服务。",
    },
    {
        "name": "考察期:首单体验",
        "priority": 90,
        "channel": "app",
        "product_kind": "data_pack",
        "condition": {"stage": ["exploration"]},
        "script": "欢迎加入!首次办理流量包享体验价,小额尝试,随时退订。",
    },
]


async def seed_defaults(session: AsyncSession) -> int:
    """Seed the default strategies when none exist; products are looked up by kind (cheapest active)."""
    if await session.scalar(text("SELECT EXISTS (SELECT 1 FROM strategies)")):
        return 0
    for s in DEFAULTS:
        product_id = None
        if s["product_kind"]:
            product_id = await session.scalar(
                text(
                    "SELECT id FROM products WHERE kind = :k AND active ORDER BY monthly_fee_fen, one_time_fee_fen, id LIMIT 1"
                ),
                {"k": s["product_kind"]},
            )
        await session.execute(
            text(
                "INSERT INTO strategies (name, condition, product_id, channel, script, priority, active) "
                "VALUES (:name, CAST(:condition AS jsonb), :product_id, :channel, :script, :priority, true)"
            ),
            {
                "name": s["name"],
                "condition": json.dumps(s["condition"], ensure_ascii=False),
                "product_id": product_id,
                "channel": s["channel"],
                "script": s["script"],
                "priority": s["priority"],
            },
        )
    return len(DEFAULTS)


_ELIGIBLE = """
CREATE TEMP TABLE engine_rec_pick ON COMMIT DROP AS
SELECT x.customer_id, s.id AS strategy_id, s.product_id,
       -- channel fall-back (shared.engine.offers): the customer's preferred channel when it may carry
       -- the offer now, else the strategy's own, else the in-app recommendation (inbound: never capped,
       -- allowed under do-not-disturb). An outbound channel may carry it while the customer is not
       -- do-not-disturb, under the monthly cap and out of a refusal's cool-off.
       CASE WHEN x.preferred = ANY(CAST(:channels AS text[]))
                 AND (x.preferred <> ALL(CAST(:outbound AS text[])) OR x.outbound_ok) THEN x.preferred
            WHEN s.channel <> ALL(CAST(:outbound AS text[])) OR x.outbound_ok THEN s.channel
            ELSE 'app' END AS channel,
       CASE s.id {purpose_cases} ELSE 'cross_sell' END AS purpose,
       s.script, s.name, x.score, x.outbound_ok
FROM (
    SELECT f.customer_id, coalesce(p.churn_score, 0) AS score, p.preferred_channel AS preferred,
           (NOT f.do_not_disturb AND f.refusals_30d = 0 AND f.touches_this_month < :max_per_month) AS outbound_ok,
           CASE {cases} END AS strategy_id
    FROM {from_clause}
    WHERE f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/
    OFFSET 0  -- one CASE per customer: flattened, the planner evaluated it for every (customer, strategy) pair
) x
JOIN strategies s ON s.id = x.strategy_id
-- the range lets a full chunk merge this against its recommendations; no subset marker: as the inner
-- side of a nested loop, the id array was re-sorted for every probe (0.5 ms each at 13k ids)
WHERE NOT EXISTS (SELECT 1 FROM recommendations r
                  WHERE r.customer_id = x.customer_id AND r.strategy_id = s.id AND r.status = 'dismissed'
                    AND r.customer_id > :lo AND r.customer_id <= :hi
                    AND r.responded_at > CAST(:as_of AS timestamptz) - make_interval(days => :cool_off_days))
"""
# Retention strategies (a condition on `risk` or `persuadable`): the offer fits the customer's cause
# within their retention budget (shared.engine.retention_offers); the channel is the offer's own where the
# pick fell back to the strategy's channel (an outbound one only while it may carry the offer now).
_RETENTION_OFFER = """
WITH {ladder}
UPDATE engine_rec_pick e
SET product_id = ro.product_id, script = coalesce(ro.script, CAST(:ro_care_script AS text)),
    name = left(e.name || ':' || {reason}, 200),
    channel = CASE WHEN ro.channel IS NOT NULL AND e.channel = b.strategy_channel
                        AND e.channel IS DISTINCT FROM b.preferred_channel
                        AND (ro.channel <> ALL(CAST(:outbound AS text[])) OR e.outbound_ok) THEN ro.channel
                   ELSE e.channel END
FROM (
    SELECT e.customer_id, s.channel AS strategy_channel, p.preferred_channel, f.do_not_disturb, p.segment,
           p.sub_segment, p.four_high, p.churn_score, p.uplift_score, coalesce(p.arpu_fen, f.arpu_fen) AS arpu_fen
    FROM engine_rec_pick e
    JOIN strategies s ON s.id = e.strategy_id
    JOIN customer_features f ON f.customer_id = e.customer_id
    LEFT JOIN customer_profiles p ON p.customer_id = e.customer_id
    WHERE e.strategy_id = ANY(CAST(:retention_ids AS int[]))
) b
{pick}
WHERE e.customer_id = b.customer_id
"""
_EXPIRE = """
UPDATE recommendations r SET status = 'expired'
WHERE r.customer_id > :lo AND r.customer_id <= :hi /*subset r.customer_id*/
  AND r.status = 'open' AND r.campaign_id IS NULL
  AND (r.expires_at <= now()
       OR (r.strategy_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM engine_rec_pick e WHERE e.customer_id = r.customer_id AND e.strategy_id = r.strategy_id)))
"""
_INSERT = """
INSERT INTO recommendations (customer_id, strategy_id, product_id, channel, script, reason, score, status, expires_at,
                             purpose, origin)
SELECT customer_id, strategy_id, product_id, channel, script, left(name, 200), score, 'open',
       CAST(:as_of AS timestamptz) + interval '30 days', purpose, 'strategy'
FROM engine_rec_pick
-- the lowest precedence (shared.engine.offers): fill a free slot, never take a campaign's or a key
-- moment's; only our own offer follows a change of channel (e.g. the preferred one went over the cap)
ON CONFLICT (customer_id, purpose) WHERE status = 'open' DO UPDATE SET channel = EXCLUDED.channel
WHERE recommendations.origin = 'strategy' AND recommendations.strategy_id = EXCLUDED.strategy_id
  AND recommendations.channel <> EXCLUDED.channel
"""

# What a customer's pick reads: the rule inputs (f, c, p, ts) and their offers (dismissals, offers
# of campaigns and key moments holding the slot, acceptances)
CHANGED = [
    "SELECT customer_id FROM customer_features WHERE computed_at >= :since",
    "SELECT id FROM customers WHERE updated_at >= :since",
    "SELECT customer_id FROM customer_profiles WHERE updated_at >= :since",
    # a tag a condition names gained or lost (tag history; a first tagging is a new feature row)
    "SELECT customer_id FROM customer_tag_history WHERE at >= :since AND tag_id = ANY(CAST(:named_tags AS int[]))",
    # a customer's answer (dismissal, acceptance), and offers of campaigns and key moments made or
    # closed (they hold or free the slot); this stage's own writes are not a change of its inputs
    "SELECT customer_id FROM recommendations WHERE responded_at >= :since",
    "SELECT customer_id FROM recommendations WHERE updated_at >= :since AND origin <> 'strategy'",
]
# ... and where the clock alone moves an answer: an offer reaching its expiry, a dismissal leaving
# the cool-off (a condition over a countdown field is added from the compiler)
CROSSING = [
    "SELECT customer_id FROM recommendations WHERE status = 'open' AND campaign_id IS NULL "
    "AND expires_at <= CAST(:now AS timestamptz)",
    "SELECT customer_id FROM recommendations WHERE status = 'dismissed' "
    "AND responded_at > CAST(:prev_as_of AS timestamptz) - make_interval(days => :cool_off_days) "
    "AND responded_at <= CAST(:as_of AS timestamptz) - make_interval(days => :cool_off_days)",
]
# with the compiled statement (conditions, tag ids they name, bound values) in the key
_DEFINITIONS = (
    "SELECT id, name, condition, product_id, channel, script, priority FROM strategies WHERE active ORDER BY id",
    "SELECT id, kind, active, monthly_fee_fen, one_time_fee_fen FROM products ORDER BY id",
    "SELECT * FROM retention_offers ORDER BY cause, rank",
)


async def run(ctx: RunContext) -> int:
    async with own_transaction(ctx.sm) as s:
        await seed_defaults(s)
    async with ctx.sm() as s:
        rules = await programme_settings.get(s, "contact_pressure")
        codes = await tag_codes(s)
        strategies = (
            await s.execute(
                text("SELECT id, name, condition, channel FROM strategies WHERE active ORDER BY priority, id")
            )
        ).all()
    compiler = Compiler("s", ctx.run_date)
    cases, purposes = [], []
    for sid, name, condition, channel in strategies:
        if channel not in CHANNELS:
            log.warning("engine.strategy.bad_channel", strategy_id=sid)
            continue
        try:
            cases.append(f"WHEN {compile_condition(compiler, condition, codes)} THEN {int(sid)}")
            purposes.append(f"WHEN {int(sid)} THEN '{offers.purpose_of(condition)}'")  # a PURPOSES literal
        except RuleError:
            log.warning("engine.strategy.skipped", strategy_id=sid, name=name)
    if not cases:
        cases, purposes = ["WHEN FALSE THEN NULL"], ["WHEN NULL THEN NULL"]
    eligible_sql = _ELIGIBLE.format(
        cases=" ".join(cases), purpose_cases=" ".join(purposes), from_clause=CHUNK_FROM_CLAUSE
    )
    params = {
        **compiler.params,
        "outbound": sorted(OUTBOUND_CHANNELS),
        "channels": list(CHANNELS),
        "max_per_month": int(rules["max_per_month"]),
        "cool_off_days": int(rules["cool_off_days"]),
        "as_of": ctx.as_of,
    }
    insert = text(_INSERT)
    retention_ids = [int(sid) for sid, _, condition, _ in strategies if is_retention(condition)]
    retention = text(
        _RETENTION_OFFER.format(
            ladder=retention_offers.LADDER_CTE, pick=retention_offers.PICK_LATERAL, reason=retention_offers.REASON_EXPR
        )
    )
    async with ctx.sm() as s:
        retention_params = {
            **await retention_offers.params(s),
            "ro_care_script": retention_offers.CARE_CALL_SCRIPT,
            "outbound": sorted(OUTBOUND_CHANNELS),
            "retention_ids": retention_ids,
        }
        definitions = await incremental.config_hash(s, *_DEFINITIONS)
    values = {
        k: v for k, v in params.items() if k not in ("as_of", f"{compiler.prefix}_day")
    }  # the day is not a definition
    statement = hashlib.sha256((eligible_sql + json.dumps(values, sort_keys=True, default=str)).encode())
    key = {
        "definitions": definitions,
        "statement": statement.hexdigest()[:32],
        "contact_pressure": rules,
        "retention": json.loads(json.dumps(retention_params, default=str)),
    }
    crossing = compiler.crossings()
    p = await incremental.plan(
        ctx,
        "strategies",
        key,
        changed=CHANGED,
        crossing=[
            *CROSSING,
            *([] if crossing is None else [f"SELECT f.customer_id FROM {FROM_CLAUSE} WHERE {crossing}"]),
        ],
        params={
            **compiler.params,
            "cool_off_days": int(rules["cool_off_days"]),
            "named_tags": named_tags(strategies, codes),
        },
    )
    eligible = text(incremental.subset_sql(eligible_sql, p.subset))
    expire = text(incremental.subset_sql(_EXPIRE, p.subset))

    async def work(s: AsyncSession, lo: int, hi: int, ids: list[int] | None) -> int:
        await s.execute(eligible, {**params, "lo": lo, "hi": hi, "ids": ids})
        if retention_ids:
            await s.execute(retention, retention_params)
        expired = await s.execute(expire, {"lo": lo, "hi": hi, "ids": ids})
        inserted = await s.execute(insert, {"as_of": ctx.as_of})
        return rowcount(expired) + rowcount(inserted)

    n = await incremental.run_pass(ctx, p, work)
    await incremental.finish(ctx, p)
    return n
