"""The customer portrait: one screen of everything a manager needs before a contact.

From the managers' read of `shared.manager.customer360`: one statement of index lookups keyed by
the customer id, so a portrait costs one round trip whatever the size of the city. The manager
app's read (`build_visible`) fuses the scope check into that statement; the hall counter's
(`build`) starts from the walk-in its audited lookup found. Phone and name are masked (customer360.identity); the national id number is never included.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth.principals import Principal
from shared.errors import NotFound
from shared.manager import customer360
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
    return {
        "touches_this_month": count,
        "outbound_allowed": reason is None,
        "reason": reason,
        "max_per_month": int(rules["max_per_month"]),
    }


def read_params(today: date, now: datetime, months: int, history: int) -> dict[str, Any]:
    """The managers' 360 parameters: the usage window, the history length, contact-pressure bounds."""
    return {
        "first_month": clock.add_months(clock.month_start(today), -months),
        "history": history,
        "month_start": clock.month_bounds(today)[0],
        "cool_from": now - timedelta(days=MAX_COOL_OFF_DAYS),
    }


async def build(
    session: AsyncSession,
    customer: Customer,
    *,
    months: int = 12,
    today: date | None = None,
    history: int = 20,
) -> dict[str, Any]:
    """The portrait of an already scoped customer (the hall counter's walk-in), from the managers'
    read of the customer 360 (one statement, one round trip)."""
    today = today or clock.today()
    now = datetime.now(clock.TZ)
    doc = await customer360.read(session, customer, audience="manager", **read_params(today, now, months, history))
    fields = {col: getattr(customer, col) for col in customer360.MANAGER_CUSTOMER_COLUMNS}
    return _assemble(fields, doc, today=today, now=now)


async def build_visible(
    session: AsyncSession,
    principal: Principal,
    customer_id: int,
    *,
    months: int = 12,
    today: date | None = None,
    history: int = 20,
) -> dict[str, Any]:
    """The portrait of a customer in the caller's scope, scope check included, in one statement
    (the manager app's hot read); NotFound when out of scope, as `scoping.get_visible_customer`."""
    today = today or clock.today()
    now = datetime.now(clock.TZ)
    row = await customer360.read_visible(session, principal, customer_id, **read_params(today, now, months, history))
    if row is None:
        raise NotFound("customer not found", customer_id=customer_id)
    doc = row["doc"]
    return _assemble(row, json.loads(doc) if isinstance(doc, str) else doc, today=today, now=now)


def _assemble(
    c: Mapping[str, Any] | asyncpg.Record, doc: dict[str, Any], *, today: date, now: datetime
) -> dict[str, Any]:
    """The portrait from the customer's columns (MANAGER_CUSTOMER_COLUMNS) and the managers' 360."""
    profile = doc["profile"]
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for t in doc["tags"]:
        grouped[t["family"]].append({"code": t["code"], "name": t["name"]})
    four_high = list(profile["four_high"] or []) if profile else []
    needs = [NEEDS_BY_FOUR_HIGH[k] for k in four_high if k in NEEDS_BY_FOUR_HIGH]
    if profile and profile.get("sub_segment") in NEEDS_BY_SUB_SEGMENT:
        needs.append(NEEDS_BY_SUB_SEGMENT[profile["sub_segment"]])
    birthday = c["birthday"]
    return {
        "id": c["id"],
        **customer360.manager_identity(c["name"], c["phone"]),
        "gender": c["gender"],
        "status": c["status"],
        "tier": c["tier"],
        "join_date": c["join_date"],
        "tenure_months": tenure_months(c["join_date"], today),
        "birthday_this_month": bool(birthday and birthday.month == today.month),
        "contract_end": c["contract_end"],
        "plan": doc["plan"],
        "subscriptions": doc["active_subscriptions"],
        "usage_trend": doc["usage_since"],
        "tags": dict(grouped),
        "lifecycle_stage": profile["lifecycle_stage"] if profile else None,
        "stability_segment": {"segment": profile["segment"], "sub_segment": profile["sub_segment"]}
        if profile
        else None,
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
        "do_not_disturb": c["do_not_disturb"],
        "contact_pressure": pressure_preview(doc, do_not_disturb=c["do_not_disturb"], now=now),
        "contact_history": doc["contact_history"],
        "open_tasks": doc["open_tasks"],
        "profile_updated_at": profile["updated_at"] if profile else None,
    }
