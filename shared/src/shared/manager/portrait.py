"""The customer portrait: one screen of everything a manager needs before a contact.

Built for a customer the caller has already scoped (`scoping.get_visible_customer` or the
audited hall lookup). One statement: every part is a subquery keyed by the customer id (primary
keys and `(customer_id, …)` indexes; `monthly_usage` partitions are pruned to the months asked
for), so a portrait costs one round trip of index lookups whatever the size of the city. Phone and name are masked; the
national id number is never included.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.masking import mask_name, mask_phone
from shared.models import Customer
from shared.programme import settings as programme_settings

NEEDS_BY_FOUR_HIGH = {
    "tariff": "roaming / long-distance spend the plan does not cover: a plan with those included",
    "payg_data": "pays per use for data: a data pack or a bigger plan",
    "silence": "pays for minutes or services left unused: a right-sized plan",
    "arpu_mismatch": "pays far above what is used: a plan optimisation",
}
NEEDS_BY_SUB_SEGMENT = {
    "tariff": "price sensitive: tariff repair",
    "network": "network quality complaints: network repair first",
    "service": "service dissatisfaction: service recovery",
    "resource_surplus": "resources exceed needs: downsize before they leave",
    "resource_shortage": "needs exceed the plan: upgrade or add-on",
    "low_frequency": "rarely uses the service: activation offers",
}


def tenure_months(join_date: date, today: date) -> int:
    return max(0, (today.year - join_date.year) * 12 + today.month - join_date.month - (today.day < join_date.day))


_PORTRAIT = text(
    """
    SELECT json_build_object(
      'profile', (SELECT row_to_json(x) FROM (
          SELECT lifecycle_stage, segment, sub_segment, churn_score, warning_coefficient, risk_level, top_factors,
                 four_high, preferred_channel, model_version, updated_at
          FROM customer_profiles WHERE customer_id = :cid) x),
      'plan', (SELECT row_to_json(x) FROM (
          SELECT id, code, name, kind, monthly_fee_fen, one_time_fee_fen, data_mb, voice_min, selling_points
          FROM products WHERE id = :plan_id) x),
      'subscriptions', coalesce((SELECT json_agg(x ORDER BY x.starts_on DESC, x.id) FROM (
          SELECT s.id, s.starts_on, s.ends_on, s.channel,
                 json_build_object('id', pr.id, 'code', pr.code, 'name', pr.name, 'kind', pr.kind,
                                   'monthly_fee_fen', pr.monthly_fee_fen, 'one_time_fee_fen', pr.one_time_fee_fen,
                                   'data_mb', pr.data_mb, 'voice_min', pr.voice_min,
                                   'selling_points', pr.selling_points) AS product
          FROM subscriptions s JOIN products pr ON pr.id = s.product_id
          WHERE s.customer_id = :cid AND s.status = 'active') x), '[]'),
      'usage_trend', coalesce((SELECT json_agg(x ORDER BY x.month) FROM (
          SELECT month, bill_fen, voice_min, data_mb, sms, payg_data_fen, roaming_fen, long_distance_fen,
                 topup_fen, balance_end_fen, active_days
          FROM monthly_usage WHERE customer_id = :cid AND month >= :first_month) x), '[]'),
      'tags', coalesce((SELECT json_agg(x ORDER BY x.family, x.code) FROM (
          SELECT d.family, d.code, d.name FROM customer_tag_sets t JOIN tag_definitions d ON d.id = ANY(t.tag_ids)
          WHERE t.customer_id = :cid) x), '[]'),
      'four_high_flags', coalesce((SELECT json_agg(x ORDER BY x.period DESC, x.kind) FROM (
          SELECT kind, period, value, cared_at FROM four_high_flags
          WHERE customer_id = :cid AND normalised_on IS NULL ORDER BY period DESC LIMIT 20) x), '[]'),
      'recommendations', coalesce((SELECT json_agg(x ORDER BY x.score DESC, x.id) FROM (
          SELECT r.id, r.channel, r.script, r.reason, r.score, r.expires_at,
                 CASE WHEN pr.id IS NULL THEN NULL ELSE json_build_object(
                     'id', pr.id, 'code', pr.code, 'name', pr.name, 'kind', pr.kind,
                     'monthly_fee_fen', pr.monthly_fee_fen, 'one_time_fee_fen', pr.one_time_fee_fen,
                     'data_mb', pr.data_mb, 'voice_min', pr.voice_min, 'selling_points', pr.selling_points) END AS product
          FROM recommendations r LEFT JOIN products pr ON pr.id = r.product_id
          WHERE r.customer_id = :cid AND r.status = 'open' ORDER BY r.score DESC, r.id LIMIT 10) x), '[]'),
      'contact_history', coalesce((SELECT json_agg(x ORDER BY x.occurred_at DESC, x.id DESC) FROM (
          SELECT id, channel, occurred_at, outcome, staff_id, campaign_id, product_id FROM touches
          WHERE customer_id = :cid ORDER BY occurred_at DESC, id DESC LIMIT :history) x), '[]'),
      'open_tasks', coalesce((SELECT json_agg(x ORDER BY x.due_on, x.id) FROM (
          SELECT id, kind, due_on, status, reason, product_id, script FROM care_tasks
          WHERE customer_id = :cid AND status IN ('open', 'in_progress') ORDER BY due_on, id LIMIT 20) x), '[]'),
      'touches_this_month', (SELECT count(*) FROM touches WHERE customer_id = :cid AND occurred_at >= :month_start),
      'refused_at', (SELECT max(occurred_at) FROM touches
                     WHERE customer_id = :cid AND outcome = 'refused' AND occurred_at > :cool_from),
      'pressure_rules', (SELECT value FROM programme_settings WHERE key = 'contact_pressure')
    )
    """
)
MAX_COOL_OFF_DAYS = 365


def pressure_preview(doc: dict[str, Any], *, do_not_disturb: bool, now: datetime) -> dict[str, Any]:
    """Would an outbound contact be allowed right now, and why not. A read-only preview of the
    rules `shared.touches.service.check_contact_pressure` enforces (settings `contact_pressure`); the
    authoritative check is that function, run (under its lock) when a contact is recorded."""
    rules = programme_settings.overlay(programme_settings.CONTACT_PRESSURE, doc.get("pressure_rules"))
    count = int(doc.get("touches_this_month") or 0)
    refused_at = doc.get("refused_at")
    reason = None
    if do_not_disturb:
        reason = "do_not_disturb"
    elif refused_at and datetime.fromisoformat(refused_at) > now - timedelta(days=int(rules["cool_off_days"])):
        reason = "cool_off"
    elif count >= int(rules["max_per_month"]):
        reason = "monthly_cap"
    return {"touches_this_month": count, "outbound_allowed": reason is None, "reason": reason,
            "max_per_month": int(rules["max_per_month"])}


async def build(
    session: AsyncSession, customer: Customer, *, months: int = 12, today: date | None = None,
    history: int = 20,
) -> dict[str, Any]:
    """The portrait in ONE statement: Postgres assembles the JSON from index lookups keyed by the
    customer id, so a portrait costs one round trip and almost no Python."""
    today = today or clock.today()
    now = datetime.now(clock.TZ)
    raw = await session.scalar(
        _PORTRAIT,
        {
            "cid": customer.id, "plan_id": customer.plan_id,
            "first_month": clock.add_months(clock.month_start(today), -months),
            "history": history, "month_start": clock.month_bounds(today)[0],
            "cool_from": now - timedelta(days=MAX_COOL_OFF_DAYS),
        },
    )
    doc = json.loads(raw) if isinstance(raw, str) else raw
    profile = doc["profile"]
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for t in doc["tags"]:
        grouped[t["family"]].append({"code": t["code"], "name": t["name"]})
    four_high = list(profile["four_high"] or []) if profile else []
    needs = [NEEDS_BY_FOUR_HIGH[k] for k in four_high if k in NEEDS_BY_FOUR_HIGH]
    if profile and profile.get("sub_segment") in NEEDS_BY_SUB_SEGMENT:
        needs.append(NEEDS_BY_SUB_SEGMENT[profile["sub_segment"]])
    return {
        "id": customer.id,
        "name": mask_name(customer.name),
        "phone": mask_phone(customer.phone),
        "gender": customer.gender,
        "status": customer.status,
        "tier": customer.tier,
        "join_date": customer.join_date,
        "tenure_months": tenure_months(customer.join_date, today),
        "birthday_this_month": bool(customer.birthday and customer.birthday.month == today.month),
        "contract_end": customer.contract_end,
        "plan": doc["plan"],
        "subscriptions": doc["subscriptions"],
        "usage_trend": doc["usage_trend"],
        "tags": dict(grouped),
        "lifecycle_stage": profile["lifecycle_stage"] if profile else None,
        "stability_segment": {"segment": profile["segment"], "sub_segment": profile["sub_segment"]} if profile else None,
        "churn_warning": (
            {
                "risk_level": profile["risk_level"],
                "churn_score": profile["churn_score"],
                "warning_coefficient": profile["warning_coefficient"],
                "top_factors": list(profile["top_factors"] or [])[:5],
                "model_version": profile["model_version"],
            }
            if profile
            else None
        ),
        "four_high": four_high,
        "four_high_flags": doc["four_high_flags"],
        "needs": needs,
        "recommendations": doc["recommendations"],
        "preferred_channel": profile["preferred_channel"] if profile else None,
        "do_not_disturb": customer.do_not_disturb,
        "contact_pressure": pressure_preview(doc, do_not_disturb=customer.do_not_disturb, now=now),
        "contact_history": doc["contact_history"],
        "open_tasks": doc["open_tasks"],
        "profile_updated_at": profile["updated_at"] if profile else None,
    }
