"""Retention offers that fit the cause (seed 002: 两张清单相互映射; seed 004: 四高 care) within a
per-customer retention budget (seed 003: what keeping a customer is worth against what it costs).

`retention_offers` is the back-office mapping (admin `GET|PUT /v1/retention/offers/{cause}`): for
each cause a ladder of offers by `rank` — a product (by id, or the cheapest active one of a
kind, or none: a care call), a channel, a Chinese script and the offer's cost to the operator
(`cost_fen`; NULL = the product's rebate terms: `eligibility.rebate.total_fen`, or `percent` of
its one-time fee, else 0).

A customer's cause is, in this order: a network or service complaint (sub-segment `network` /
`service`), a four-high anomaly of money (`four_high:payg_data`, `four_high:tariff`,
`four_high:arpu_mismatch`), the stability sub-segment (`tariff`, `resource_shortage`,
`resource_surplus`, `low_frequency`), then `four_high:silence`.

Budget (programme setting `retention_budget`): expected value saved = churn probability × save
rate × ARPU × `value_months`, where churn probability is the churn model's score (else
`default_churn_probability`) and churn probability × save rate is the uplift model's score when
there is one (the fall in churn probability a contact buys). The first rung whose cost fits the
budget is offered; the rungs refused for cost are named in the reason; when none fits, a no-cost
care call. Used set-based by the churn care tasks (sql/care_tasks.sql) and the nightly retention
strategies (strategies.py): `LADDER_CTE` and `PICK_LATERAL` over a row alias `b` with segment,
sub_segment, four_high, churn_score, uplift_score and arpu_fen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.programme import settings as programme_settings

SUB_CAUSES = ("tariff", "network", "service", "resource_shortage", "resource_surplus", "low_frequency")
FOUR_HIGH_CAUSES = ("four_high:tariff", "four_high:payg_data", "four_high:silence", "four_high:arpu_mismatch")
CAUSES = SUB_CAUSES + FOUR_HIGH_CAUSES
MAX_RUNGS = 5

# cause → ladder of (label, product kind or None, channel, cost in fen, script); copied into
# migration 0008e (a migration must not change when the code does).
DEFAULT_OFFERS: dict[str, list[tuple[str, str | None, str, int, str]]] = {
    "network": [
        (
            "网络修复+宽带提速体验",
            "broadband",
            "outbound_call",
            3000,
            "了解到您近期网络体验不佳,我们已安排工程师检测修复;同时可为您免费提速并优化家庭 WiFi 覆盖。",
        ),
        (
            "网络修复回访",
            None,
            "outbound_call",
            0,
            "了解到您近期网络体验不佳,已安排工程师检测修复,修复后我再回访确认效果。",
        ),
    ],
    "service": [
        (
            "服务修复专人回访",
            None,
            "outbound_call",
            0,
            "针对您之前反映的问题,我是专门负责跟进的客户经理,想了解问题是否已解决。",
        ),
    ],
    "tariff": [
        (
            "存费送费合约",
            "contract",
            "outbound_call",
            9000,
            "现在预存话费签约,合约期内每月返还 40%–50%,比现在更划算,需要为您办理吗?",
        ),
        (
            "充值送费",
            "recharge_bonus",
            "outbound_call",
            6000,
            "现在充值即可连续 6 个月获赠话费和流量,您看需要为您办理吗?",
        ),
        ("资费诊断回访", None, "outbound_call", 0, "我帮您看了近几个月的账单,给您讲讲怎样用更省钱。"),
    ],
    "resource_shortage": [
        ("流量包", "data_pack", "sms", 500, "您的流量经常不够用,推荐加装流量包,比套外计费省一半以上。"),
        ("套餐升档", "plan", "outbound_call", 0, "您的套餐资源经常不够用,升档后资源更多、单价更低。"),
    ],
    "resource_surplus": [
        ("亲情共享", "family", "app", 0, "您的套餐资源充裕,可以开通亲情共享,把用不完的流量分给家人。"),
    ],
    "low_frequency": [
        ("视频会员权益", "membership", "app", 1500, "开通视频会员权益,追剧看球更畅快,会员期内定向流量免费。"),
        ("使用指导回访", None, "outbound_call", 0, "想了解一下您平时怎么用手机,我来教您把套餐用起来。"),
    ],
    "four_high:tariff": [
        ("长途漫游优惠包", "voice_pack", "sms", 500, "您近期长途/漫游费用较高,推荐您办理优惠可选包,长话长聊更省心。"),
    ],
    "four_high:payg_data": [
        ("流量包", "data_pack", "sms", 500, "您上月产生了较多套外流量费,办理流量包每月可节省不少费用。"),
    ],
    "four_high:silence": [
        ("资源使用提醒", None, "sms", 0, "温馨提示:您的套餐内还有大量通话分钟和流量未使用,我来教您用起来。"),
    ],
    "four_high:arpu_mismatch": [
        ("套餐迁移", "plan", "outbound_call", 0, "根据您的实际使用,有更合适的套餐,每月可节省费用且满足日常需要。"),
    ],
}
CARE_CALL_LABEL = "关怀回访(无成本)"
CARE_CALL_SCRIPT = "想了解一下您最近使用中有没有不满意的地方,我们可以为您调整方案。"

# Each offer with its product resolved (by id, else the cheapest active of its kind) and its cost.
# A rung naming a product that is inactive or missing is skipped.
LADDER_CTE = """
ro_ladder AS MATERIALIZED (
    SELECT o.cause, o.rank, o.label, o.channel, o.script, pr.id AS product_id,
           coalesce(o.cost_fen,
                    CASE WHEN jsonb_typeof(pr.eligibility -> 'rebate' -> 'total_fen') = 'number'
                         THEN round((pr.eligibility -> 'rebate' ->> 'total_fen')::numeric)::bigint END,
                    CASE WHEN jsonb_typeof(pr.eligibility -> 'rebate' -> 'percent') = 'number'
                         THEN round((pr.eligibility -> 'rebate' ->> 'percent')::numeric * pr.one_time_fee_fen / 100)::bigint END,
                    0) AS cost_fen
    FROM retention_offers o
    LEFT JOIN LATERAL (SELECT p.id, p.eligibility, p.one_time_fee_fen FROM products p
                       WHERE p.active AND (p.id = o.product_id OR (o.product_id IS NULL AND p.kind = o.product_kind))
                       ORDER BY p.monthly_fee_fen, p.one_time_fee_fen, p.id LIMIT 1) pr ON true
    WHERE o.active AND (pr.id IS NOT NULL OR (o.product_id IS NULL AND o.product_kind IS NULL))
)"""

# rc: the cause and the budget; ro: the first rung within budget; rr: the dearer rungs refused.
PICK_LATERAL = """
CROSS JOIN LATERAL (
    SELECT CASE
               WHEN b.sub_segment IN ('network', 'service') THEN b.sub_segment
               WHEN coalesce(b.four_high, '[]'::jsonb) @> '["payg_data"]'::jsonb THEN 'four_high:payg_data'
               WHEN coalesce(b.four_high, '[]'::jsonb) @> '["tariff"]'::jsonb THEN 'four_high:tariff'
               WHEN coalesce(b.four_high, '[]'::jsonb) @> '["arpu_mismatch"]'::jsonb THEN 'four_high:arpu_mismatch'
               WHEN b.sub_segment IN ('tariff', 'resource_shortage', 'resource_surplus', 'low_frequency') THEN b.sub_segment
               WHEN coalesce(b.four_high, '[]'::jsonb) @> '["silence"]'::jsonb THEN 'four_high:silence'
           END AS cause,
           round(greatest(coalesce(b.uplift_score,
                                   coalesce(b.churn_score, CAST(:ro_churn_p AS float8)) * CAST(:ro_save_rate AS float8)), 0)
                 * greatest(coalesce(b.arpu_fen, 0), 0) * CAST(:ro_value_months AS float8))::bigint AS budget_fen
) rc
LEFT JOIN LATERAL (
    SELECT l.rank, l.label, l.product_id, l.channel, l.script, l.cost_fen FROM ro_ladder l
    WHERE l.cause = rc.cause AND l.cost_fen <= rc.budget_fen ORDER BY l.rank LIMIT 1
) ro ON true
LEFT JOIN LATERAL (
    SELECT string_agg(l.label || '¥' || (l.cost_fen / 100), '、' ORDER BY l.rank) AS refused FROM ro_ladder l
    WHERE l.cause = rc.cause AND l.cost_fen > rc.budget_fen AND l.rank < coalesce(ro.rank, 2147483647)
) rr ON true"""

CAUSE_LABELS = {
    "tariff": "资费待修复",
    "network": "网络待修复",
    "service": "服务待修复",
    "resource_shortage": "资源紧张型",
    "resource_surplus": "资源充裕型",
    "low_frequency": "低频使用型",
    "four_high:tariff": "四高-高资费",
    "four_high:payg_data": "四高-高套外流量",
    "four_high:silence": "四高-高沉默",
    "four_high:arpu_mismatch": "四高-高ARPU",
}
_CAUSE_LABEL = (
    "CASE rc.cause " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CAUSE_LABELS.items()) + " ELSE '未知原因' END"
)
# What the manager reads: cause, budget, the offer and what the budget refused.
REASON_EXPR = (
    "'原因' || " + _CAUSE_LABEL + " || ';挽留预算¥' || (rc.budget_fen / 100) || ';推荐' || "
    "coalesce(ro.label || '(成本¥' || (ro.cost_fen / 100) || ')', '" + CARE_CALL_LABEL + "') || "
    "coalesce(';超预算未推:' || rr.refused, '')"
)


async def params(session: AsyncSession) -> dict[str, Any]:
    """The bound parameters PICK_LATERAL needs (programme setting `retention_budget`)."""
    cfg = await programme_settings.get(session, programme_settings.RETENTION_BUDGET)
    return {
        "ro_churn_p": float(cfg["default_churn_probability"]),
        "ro_save_rate": float(cfg["save_rate"]),
        "ro_value_months": float(cfg["value_months"]),
    }


_LIST = text(
    "SELECT o.cause, o.rank, o.label, o.product_kind, o.product_id, o.channel, o.script, o.cost_fen, o.active "
    "FROM retention_offers o ORDER BY o.cause, o.rank"
)


async def list_offers(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in CAUSES}
    for row in (await session.execute(_LIST)).mappings():
        out.setdefault(row["cause"], []).append(dict(row))
    return out


async def replace_ladder(
    session: AsyncSession, cause: str, rungs: list[dict[str, Any]], *, staff_id: int | None
) -> None:
    """Replace the cause's ladder (rank = position + 1). The caller has validated cause and products.

    Edits queue behind each other (the last one wins whole): without the lock a second edit's
    DELETE misses the rows the first inserted and its INSERT hits the UNIQUE (cause, rank). The
    lock mode lets the nightly reads through."""
    await session.execute(text("LOCK TABLE retention_offers IN SHARE ROW EXCLUSIVE MODE"))
    await session.execute(text("DELETE FROM retention_offers WHERE cause = :c"), {"c": cause})
    for rank, rung in enumerate(rungs, start=1):
        await session.execute(
            text(
                "INSERT INTO retention_offers (cause, rank, label, product_kind, product_id, channel, script, cost_fen, "
                "active, updated_by) VALUES (:cause, :rank, :label, :product_kind, :product_id, :channel, :script, "
                ":cost_fen, :active, :staff)"
            ),
            {**rung, "cause": cause, "rank": rank, "staff": staff_id},
        )
