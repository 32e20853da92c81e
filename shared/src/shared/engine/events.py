"""Key moments (seed 002: "充分利用客户呼入服务热线咨询宽带卡顿问题的'关键时刻'"): events from
other systems during the day — a hotline call with its reason, a usage collapse, a low balance, a
contract about to end, a competitor-hotline call — turned at once into the matching
recommendation (for the agent or the app) and, for customers with an account manager, a care
task, under the same contact-pressure rules as the nightly run. The recommendation becomes the
customer's one open retention offer (shared.engine.offers: a key moment outranks a campaign and
the nightly strategy); when contact pressure refuses its channel it falls back to the in-app
recommendation instead of being dropped, and the care task carries that same offer.

Idempotent by (source, external_id): the UNIQUE constraint makes a concurrent duplicate wait for
the first and then return its stored result; the same id with a different customer or kind is a
Conflict.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.engine import offers
from shared.errors import Conflict, NotFound
from shared.touches.service import ContactPressure, check_contact_pressure

KINDS = ("hotline_call", "usage_collapse", "low_balance", "contract_ending", "competitor_call", "port_out_code_request")
# A number-portability authorisation-code request (携号转网授权码查询) is the strongest churn signal
# an operator has: its retention task is due today, is not held back by contact pressure (only
# do-not-disturb stops it) and, for a customer without a manager, goes to the branch's least
# loaded account manager.
URGENT_KINDS = frozenset({"port_out_code_request"})
HOTLINE_REASONS = ("broadband_lag", "network", "slow_data", "tariff", "billing", "service", "other")


class EventReused(Conflict):
    code = "event_id_reused"


# kind (and hotline reason) → (product kind, recommendation channel, task kind or None, reason, script)
_PLAYBOOK: dict[str, tuple[str | None, str, str | None, str, str]] = {
    "hotline_call:broadband_lag": (
        "broadband",
        "hotline",
        None,
        "热线咨询宽带卡顿",
        "已为您登记宽带检测;同时可免费升级速率并优化家庭 WiFi 覆盖,还可预约智慧家庭工程师上门。",
    ),
    "hotline_call:network": (
        "broadband",
        "hotline",
        "key_moment",
        "热线反映网络问题",
        "非常抱歉给您带来不便,已安排网络优化;为表歉意,为您推荐宽带提速体验。",
    ),
    "hotline_call:slow_data": (
        "data_pack",
        "hotline",
        None,
        "热线反映上网慢/流量不够",
        "您的流量已接近用完会被限速,加装流量包即可恢复高速。",
    ),
    "hotline_call:tariff": (
        "contract",
        "hotline",
        "key_moment",
        "热线咨询资费",
        "根据您的使用情况,签约存费送费合约每月可返还 40%–50%,比现在更划算。",
    ),
    "hotline_call:billing": (
        "recharge_bonus",
        "hotline",
        "key_moment",
        "热线咨询账单",
        "已为您核对账单;现在充值可享连续 6 个月赠费。",
    ),
    "hotline_call:service": (None, "hotline", "key_moment", "热线反映服务问题", "已记录您的意见,客户经理将专门回访。"),
    "hotline_call:other": (None, "hotline", None, "热线来电", "感谢来电,如有需要随时联系您的客户经理。"),
    "usage_collapse": (
        "recharge_bonus",
        "outbound_call",
        "key_moment",
        "使用量骤降",
        "注意到您最近使用明显减少,想了解是否有不满意的地方,我们可以为您调整方案。",
    ),
    "low_balance": (
        "recharge_bonus",
        "sms",
        None,
        "余额不足",
        "您的话费余额不足,现在充值 100 元连续 6 个月赠送话费和流量,回复 1 办理。",
    ),
    "contract_ending": (
        "contract",
        "outbound_call",
        "key_moment",
        "合约即将到期",
        "您的合约即将到期,续约可继续享受每月返还和专属优惠。",
    ),
    "port_out_code_request": (
        "contract",
        "outbound_call",
        "churn",
        "携号转网授权码查询",
        "了解到您在查询携号转网授权码,想先听听您的顾虑;老客户可享专属合约优惠,号码、积分和星级都保留。",
    ),
    "competitor_call": (
        "recharge_bonus",
        "outbound_call",
        "churn",
        "拨打异网客服热线",
        "感谢您一直以来的支持,为老客户准备了充值赠费和流量优惠,想听听您的需要。",
    ),
}


def playbook_key(kind: str, payload: dict[str, Any]) -> str:
    if kind == "hotline_call":
        reason = payload.get("reason") if payload.get("reason") in HOTLINE_REASONS else "other"
        return f"hotline_call:{reason}"
    return kind


async def ingest_event(
    session: AsyncSession,
    *,
    source: str,
    external_id: str,
    customer_id: int,
    kind: str,
    occurred_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record the event once and act on it; returns {"event_id", "replayed", "result"}.

    Raises NotFound (unknown customer), EventReused (same source/external_id, other content).
    """
    payload = payload or {}
    exists = await session.scalar(text("SELECT status FROM customers WHERE id = :c"), {"c": customer_id})
    if exists is None:
        raise NotFound("customer not found", customer_id=customer_id)
    new_id = await session.scalar(
        text(
            "INSERT INTO key_moment_events (customer_id, kind, payload, source, external_id, result) "
            "VALUES (:c, :k, CAST(:p AS jsonb), :s, :x, '{}') ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
        ),
        {
            "c": customer_id,
            "k": kind,
            "p": json.dumps(
                {**payload, "occurred_at": occurred_at.isoformat() if occurred_at else None}, ensure_ascii=False
            ),
            "s": source,
            "x": external_id,
        },
    )
    if new_id is None:
        row = (
            await session.execute(
                text(
                    "SELECT id, customer_id, kind, result FROM key_moment_events WHERE source = :s AND external_id = :x"
                ),
                {"s": source, "x": external_id},
            )
        ).one()
        if row.customer_id != customer_id or row.kind != kind:
            raise EventReused(
                "this (source, external_id) was used for another event", source=source, external_id=external_id
            )
        return {"event_id": row.id, "replayed": True, "result": row.result}
    result = await _act(
        session,
        event_id=new_id,
        source=source,
        external_id=external_id,
        customer_id=customer_id,
        kind=kind,
        payload=payload,
    )
    await session.execute(
        text("UPDATE key_moment_events SET processed_at = now(), result = CAST(:r AS jsonb) WHERE id = :id"),
        {"id": new_id, "r": json.dumps(result, ensure_ascii=False)},
    )
    return {"event_id": new_id, "replayed": False, "result": result}


_LEAST_LOADED_BRANCH_MANAGER = text(
    """
    SELECT s.id FROM customers c
    JOIN staff_users s ON s.org_unit_id = c.branch_id AND s.role = 'account_manager' AND s.active
    WHERE c.id = :c
    ORDER BY (SELECT count(*) FROM care_tasks t WHERE t.manager_id = s.id AND t.status IN ('open', 'in_progress')), s.id
    LIMIT 1
    """
)


async def _refuse_if_do_not_disturb(session: AsyncSession, customer_id: int) -> None:
    if await session.scalar(text("SELECT do_not_disturb FROM customers WHERE id = :c"), {"c": customer_id}):
        raise ContactPressure("customer asked not to be disturbed", reason="do_not_disturb", channel="manager_call")


async def _act(
    session: AsyncSession,
    *,
    event_id: int,
    source: str,
    external_id: str,
    customer_id: int,
    kind: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    product_kind, channel, task_kind, reason, script = _PLAYBOOK[playbook_key(kind, payload)]
    detail = payload.get("reason") if kind == "hotline_call" else None
    reason_text = reason + (f"({detail})" if detail and detail not in HOTLINE_REASONS else "")
    product_id = None
    if product_kind:
        product_id = await session.scalar(
            text(
                "SELECT id FROM products WHERE kind = :k AND active ORDER BY monthly_fee_fen, one_time_fee_fen, id LIMIT 1"
            ),
            {"k": product_kind},
        )
    result: dict[str, Any] = {
        "playbook": playbook_key(kind, payload),
        "recommendation_id": None,
        "task_id": None,
        "suppressed": [],
    }
    try:
        await check_contact_pressure(session, customer_id=customer_id, channel=channel)
    except ContactPressure as exc:
        # channel fall-back: the offer still reaches the customer as the in-app recommendation
        result["suppressed"].append({"channel": channel, "reason": exc.context.get("reason"), "fell_back_to": "app"})
        channel = "app"
    result["recommendation_id"] = await offers.put_key_moment_offer(
        session,
        customer_id=customer_id,
        product_id=product_id,
        channel=channel,
        script=script,
        reason=f"关键时刻:{reason_text}"[:200],
    )
    result["channel"] = channel
    urgent = kind in URGENT_KINDS
    manager_id = await session.scalar(
        text("SELECT manager_id FROM manager_assignments WHERE customer_id = :c"), {"c": customer_id}
    )
    if urgent and manager_id is None:
        manager_id = await session.scalar(_LEAST_LOADED_BRANCH_MANAGER, {"c": customer_id})
        result["routed_to_branch"] = manager_id is not None
    if task_kind and manager_id is not None:
        offer = await offers.open_offer(session, customer_id, "retention")
        if offer is not None:
            product_id, script = offer["product_id"], offer["script"] or script
        try:
            if urgent:
                await _refuse_if_do_not_disturb(session, customer_id)
            else:
                await check_contact_pressure(session, customer_id=customer_id, channel="manager_call")
            due = clock.today() if urgent else clock.today() + timedelta(days=1)
            result["task_id"] = await session.scalar(
                text(
                    "INSERT INTO care_tasks (customer_id, manager_id, kind, dedupe_key, due_on, reason, product_id, script, status) "
                    "VALUES (:c, :m, :k, :d, :due, :r, :p, :sc, 'open') "
                    "ON CONFLICT (dedupe_key) DO UPDATE SET updated_at = care_tasks.updated_at RETURNING id"
                ),
                {
                    "c": customer_id,
                    "m": manager_id,
                    "k": task_kind,
                    "d": f"key_moment:{event_id}",
                    "due": due,
                    "r": f"关键时刻:{reason_text}"[:300],
                    "p": product_id,
                    "sc": script,
                },
            )
        except ContactPressure as exc:
            result["suppressed"].append({"channel": "manager_call", "reason": exc.context.get("reason")})
    return result
