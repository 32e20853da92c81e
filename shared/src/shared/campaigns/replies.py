"""Inbound SMS replies to campaign messages ("回复 1 立即办理"): the customer's answer acts.

The gateway posts each inbound SMS once or more; `sms_replies.gateway_message_id` is UNIQUE, so
the first delivery does the work and every redelivery (also a concurrent one, which waits on the
index) replays its stored result without acting or texting again.

A reply answers the customer's latest campaign SMS (channel `sms`, delivered, not yet answered)
sent within the attribution window (`measurement.attribution_days`). Keywords, after NFKC
(full-width → half-width), trimming and upper-casing:

| keyword | meaning | what happens |
| --- | --- | --- |
| 1, Y, YES, 是, 办理, 确认 | order | the SMS's product is ordered through `business.orders.place_order` (eligibility, balance, ledger: money moves only there) with consent `sms:<message id>`: this row records who said what, when; a product that needs a signature goes to the account manager as a task instead |
| 0, 2, N, NO, 否, 不要, 不需要 | refuse | the touch becomes `refused` (the contact-pressure cool-off starts) |
| TD, T, 退订, STOP | unsubscribe | the customer becomes do-not-disturb; the touch `unsubscribed` |

Every outcome has a Chinese SMS back (confirmation with the charge, or the reason it could not
be done: balance too low with the amounts, not eligible with the reason, nothing to answer,
unrecognised keyword); the caller sends it after commit. The answered touch gets its outcome and
`responded_at`, so attribution credits the order to it (shared.reports.attribution).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.business.orders import NotEligible, needs_signature, place_order
from shared.errors import InsufficientFunds
from shared.manager.handoff import hand_to_manager
from shared.masking import mask_phone
from shared.models import Customer, Product, SmsReply, Subscription
from shared.programme import settings as programme_settings
from shared.touches.outcomes import DELIVERED

KEYWORDS = {
    "order": frozenset({"1", "Y", "YES", "是", "办理", "确认"}),
    "refuse": frozenset({"0", "2", "N", "NO", "否", "不要", "不需要"}),
    "unsubscribe": frozenset({"TD", "T", "退订", "STOP"}),
}
REASONS_ZH = {
    "tier_too_low": "客户星级未达到要求",
    "tier_not_targeted": "该优惠不面向您的客户等级",
    "plan_not_eligible": "您当前的套餐不适用",
    "tenure_too_short": "在网时长不足",
    "already_subscribed": "您已办理该业务",
    "not_orderable": "该业务暂停办理",
    "customer_not_active": "号码状态异常",
}
HELP_ZH = "回复 1 办理，回复 0 不需要，回复 TD 退订营销短信。"


@dataclass(frozen=True, slots=True)
class ReplyResult:
    reply_id: int
    result: str
    keyword: str
    phone: str | None
    touch_id: int | None
    subscription_id: int | None
    task_id: int | None
    reply_text: str | None
    detail: dict
    replayed: bool


def keyword_of(body: str) -> str:
    word = re.sub(r"[\s。.!！,，]+", "", unicodedata.normalize("NFKC", body)).upper()
    return next((k for k, words in KEYWORDS.items() if word in words), "unknown")


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[^0-9]", "", phone)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


async def handle_reply(
    session: AsyncSession,
    *,
    message_id: str,
    phone: str,
    body: str,
    received_at: datetime,
) -> ReplyResult:
    """Act on one inbound SMS once per gateway message id (see module doc); the caller commits
    and then sends `reply_text` unless `replayed`."""
    number = normalise_phone(phone)
    keyword = keyword_of(body)
    claimed = await session.scalar(
        insert(SmsReply)
        .values(
            gateway_message_id=message_id,
            phone_masked=(mask_phone(number) or "")[:20],
            body=body[:500],
            received_at=received_at,
            keyword=keyword,
            result="processing",
            detail={},
        )
        .on_conflict_do_nothing(index_elements=["gateway_message_id"])
        .returning(SmsReply.id)
    )
    if claimed is None:
        done = await session.scalar(select(SmsReply).where(SmsReply.gateway_message_id == message_id))
        assert done is not None
        return _result(done, phone=None, replayed=True)
    customer = await session.scalar(select(Customer).where(Customer.phone == number))
    outcome = await _act(session, customer, keyword=keyword, message_id=message_id)
    row = await session.scalar(
        update(SmsReply)
        .where(SmsReply.id == claimed)
        .values(customer_id=customer.id if customer else None, **outcome)
        .returning(SmsReply)
    )
    assert row is not None
    return _result(row, phone=customer.phone if customer else None, replayed=False)


def _result(row: SmsReply, *, phone: str | None, replayed: bool) -> ReplyResult:
    return ReplyResult(
        row.id,
        row.result,
        row.keyword,
        phone,
        row.touch_id,
        row.subscription_id,
        row.task_id,
        row.reply_text,
        row.detail or {},
        replayed,
    )


async def _act(session: AsyncSession, customer: Customer | None, *, keyword: str, message_id: str) -> dict:
    if customer is None:
        return {"result": "unknown_sender"}
    if keyword == "unknown":
        return {"result": "unrecognised", "reply_text": f"未能识别您的回复。{HELP_ZH}"}
    days = int((await programme_settings.get(session, programme_settings.MEASUREMENT))["attribution_days"])
    touch = (
        await session.execute(
            text(
                """
        SELECT id, product_id, campaign_id FROM touches
        WHERE customer_id = :c AND channel = 'sms' AND outcome = ANY(:delivered) AND responded_at IS NULL
          AND occurred_at > now() - make_interval(days => :days) AND occurred_at <= now()
        ORDER BY occurred_at DESC, id DESC LIMIT 1 FOR UPDATE
        """
            ),
            {"c": customer.id, "delivered": list(DELIVERED), "days": days},
        )
    ).one_or_none()
    if keyword == "unsubscribe":
        await session.execute(update(Customer).where(Customer.id == customer.id).values(do_not_disturb=True))
        if touch is not None:
            await _answer(session, touch.id, "unsubscribed")
        return {
            "result": "unsubscribed",
            "touch_id": touch.id if touch else None,
            "reply_text": "退订成功，您将不再收到营销短信。如需办理业务，请联系您的客户经理或到营业厅。",
        }
    if touch is None or (keyword == "order" and touch.product_id is None):
        return {"result": "no_open_offer", "reply_text": "您目前没有待回复的优惠，无需操作。感谢您的支持！"}
    if keyword == "refuse":
        await _answer(session, touch.id, "refused")
        return {"result": "refused", "touch_id": touch.id, "reply_text": "已收到，本次优惠将不再打扰您。感谢您的支持！"}
    product = await session.get(Product, touch.product_id)
    assert product is not None
    if needs_signature(product):
        task_id, _ = await hand_to_manager(
            session,
            customer_id=customer.id,
            product=product,
            source=f"sms-touch:{touch.id}",
            campaign_id=touch.campaign_id,
        )
        await _answer(session, touch.id, "handed_to_manager")
        return {
            "result": "handed_to_manager",
            "touch_id": touch.id,
            "task_id": task_id,
            "reply_text": f"「{product.name}」需要签约办理，已转交您的客户经理，稍后将与您联系。",
        }
    try:
        async with session.begin_nested():  # a refusal rolls back the order attempt, not this reply
            sub = await place_order(
                session,
                customer_id=customer.id,
                product_id=product.id,
                key=f"sms-touch:{touch.id}",
                channel="sms",
                consent_ref=f"sms:{message_id}"[:80],
            )
    except InsufficientFunds as exc:
        need, have = int(exc.context.get("charge_fen", 0)), int(exc.context.get("balance_fen", 0))
        return {
            "result": "insufficient_funds",
            "touch_id": touch.id,
            "detail": {"charge_fen": need, "balance_fen": have},
            "reply_text": f"「{product.name}」办理未成功：话费余额不足（需 {_yuan(need)} 元，当前 {_yuan(have)} 元）。"
            "充值后回复 1 即可办理。",
        }
    except NotEligible as exc:
        reasons = list(exc.context.get("reasons", []))
        await _answer(session, touch.id, "interested")
        why = "、".join(REASONS_ZH.get(r, r) for r in reasons) or "不符合办理条件"
        return {
            "result": "not_eligible",
            "touch_id": touch.id,
            "detail": {"reasons": reasons},
            "reply_text": f"抱歉，「{product.name}」暂时无法为您办理：{why}。如有疑问请联系您的客户经理。",
        }
    await _answer(session, touch.id, "ordered")
    return {
        "result": "ordered",
        "touch_id": touch.id,
        "subscription_id": sub.id,
        "detail": {"charge_fen": int(sub.charge_fen), "starts_on": sub.starts_on.isoformat()},
        "reply_text": _confirmation(product, sub),
    }


def _confirmation(product: Product, sub: Subscription) -> str:
    charge = f"已扣费 {_yuan(int(sub.charge_fen))} 元，" if sub.charge_fen else ""
    return f"您已成功办理「{product.name}」，{charge}{sub.starts_on:%Y-%m-%d} 起生效。感谢您的支持！"


async def _answer(session: AsyncSession, touch_id: int, outcome: str) -> None:
    await session.execute(
        text("UPDATE touches SET outcome = :o, responded_at = now() WHERE id = :t"), {"o": outcome, "t": touch_id}
    )
