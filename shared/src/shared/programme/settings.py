"""Programme settings: the back-office editable rules in `programme_settings`, one JSON object per key.

This module is the one reader and writer of that table. Every key has its defaults below, so a
fresh database behaves sensibly and adding a member never needs a data migration. A reader gets
the defaults overlaid with the stored object's members; members the defaults don't name are
ignored, so a stale or mistyped member never reaches SQL (values only ever go to SQL as bound
parameters). Writers validate first (the admin schemas) and audit in the same transaction.
Two one-statement hot paths read the row inside their SQL and overlay the same defaults there
(engagement/sql/checkin.sql, the manager portrait); they take the defaults from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ProgrammeSetting

# retention engine thresholds (admin: /v1/engine/settings/{key})
FOUR_HIGH = "four_high"
CONTACT_PRESSURE = "contact_pressure"
SEGMENTS = "segments"
ASSIGNMENT = "assignment"
CLUSTERS = "clusters"
CARE = "care"
# points and engagement rules (admin: /v1/programme/rules/{key})
POINTS_EXPIRY = "points_expiry"
POINTS_ACCRUAL = "points_accrual"
CHECKIN_RULES = "checkin_rules"
POINTS_EXCHANGE = "points_exchange"
# manager app and alliance
MANAGER_INCENTIVES = "manager_incentives"
BIRTHDAY_GREETING = "birthday_greeting"
REVERSAL_WINDOW = "alliance.reversal_window"
# texts sent by SMS (admin: /v1/programme/rules/sms_templates; shared.notify.templates)
SMS_TEMPLATES = "sms_templates"
# tracking reports (admin: /v1/engine/settings/measurement)
MEASUREMENT = "measurement"
# plan changes 套餐升级/降档 (shared.business.plan_change)
PLAN_CHANGE = "plan_change"
# per-customer retention budget (admin: /v1/engine/settings/retention_budget; shared.engine.offers)
RETENTION_BUDGET = "retention_budget"

DEFAULTS: dict[str, dict[str, Any]] = {
    PLAN_CHANGE: {"upgrade_immediately": True},  # downgrades always take effect next billing month
    FOUR_HIGH: {
        # monthly list: the last usage month and the 3-month average; daily list: the month to
        # date, amounts and allowances pro-rated to the days elapsed (shared/engine/README.md)
        "tariff_min_fen": 4000,  # roaming + long distance in the month and on 3-month average
        "tariff_min_share": 0.25,  # ... and at least this share of the (average) bill
        "payg_min_fen": 1000,  # pay-per-use data in the month and on 3-month average
        "payg_min_data_use_ratio": 1.6,  # ... using at least this multiple of the data allowance
        "silence_max_use_ratio": 0.35,  # voice and data use both below this share of the allowance
        "silence_min_silent_services": 1,  # ... while paying for services unused for 30 days
        "silence_min_active_days": 8,  # ... on a line in use (fewer active days: dormant, not silence)
        "arpu_min_bill_fen": 12800,  # bill at least this high (a 128-yuan plan and up) ...
        "arpu_max_use_ratio": 0.2,  # ... while using under this share of the allowance
        "daily_min_days": 7,  # the daily list reads at least this many days (into last month early on)
    },
    CONTACT_PRESSURE: {"max_per_month": 4, "cool_off_days": 30},
    # Seed 003: a retention offer may cost at most what keeping the customer is expected to be
    # worth: churn probability (the model's score, else default_churn_probability) x save_rate
    # (or the uplift score in place of both) x ARPU x value_months of expected remaining life.
    RETENTION_BUDGET: {"save_rate": 0.3, "value_months": 24, "default_churn_probability": 0.5},
    SEGMENTS: {
        "loss_trend": -0.3,  # ARPU or usage falling faster than this over 3 months
        "loss_complaints": 2,
        "surplus_max_ratio": 0.3,
        "shortage_min_ratio": 1.0,
        "shortage_payg_fen": 1500,
        "low_freq_active_days": 8,
        "high_value_arpu_fen": 12000,
    },
    ASSIGNMENT: {"min_arpu_fen": 15000, "min_per_manager": 300, "max_per_manager": 500},
    CLUSTERS: {"k": 6, "sample": 50000},
    CARE: {"holiday_lead_days": 7, "birthday_lead_days": 7, "max_per_manager_per_day": 40},
    # Points earned in year Y expire at the end of year Y + years_after ("end_of_year"), or
    # `months` after the earning month ends ("rolling_months").
    POINTS_EXPIRY: {"mode": "end_of_year", "years_after": 1, "months": 24},
    # Monthly accrual: points per yuan billed, by tier, plus a tenure bonus per full year (capped).
    POINTS_ACCRUAL: {
        "per_yuan": {"star1": 1, "star2": 1, "star3": 1, "star4": 1.2, "star5": 1.5, "gold": 2, "diamond": 3},
        "tenure_points_per_year": 5,
        "tenure_cap_years": 10,
        "max_points_per_month": 5000,
    },
    # Points spent on airtime: fen credited per point, smallest exchange.
    POINTS_EXCHANGE: {"airtime_fen_per_point": 1, "min_points": 1, "enabled": True},
    # Check-in: rewards[i] is paid on streak day i+1 (cyclic), make-up of missed days optional.
    CHECKIN_RULES: {
        "rewards": [5, 5, 5, 10, 5, 5, 30],
        "makeup": {"enabled": True, "max_days_back": 3, "cost_points": 20, "max_per_month": 2},
    },
    # Manager incentive points per statement line (shared.manager.incentives).
    MANAGER_INCENTIVES: {
        "retained_high_risk_points": 50,
        "risk_window_days": 90,
        "uplift_points_per_yuan": 1,
        "uplift_cap_points": 100,
        "uplift_baseline_months": 3,
    },
    BIRTHDAY_GREETING: {
        "template": "{salutation}，祝您生日快乐！感谢您一直以来的信任与支持，您的专属客户经理随时为您服务。"
    },
    # How long a merchant's till may reverse a redemption.
    REVERSAL_WINDOW: {"minutes": 30},
    # SMS texts, Chinese, without the operator's signature (shared.notify.templates puts
    # TENURE_SMS_SIGNATURE first). Each may use only the placeholders its default uses.
    SMS_TEMPLATES: {
        "otp": "您的登录验证码为{code}，{minutes}分钟内有效，请勿告诉他人。",
        "campaign_offer": "{text}回复TD退订",
        "refusal_confirmation": "已收到您的回复，{cool_off_days}天内不再向您推荐此类优惠。",
        "order_confirmation": "您已成功办理{product}，感谢您的支持。",
        "rebate_instalment": "您办理的{product}本期返还{amount_yuan}元已到账（第{instalment}/{instalments}期）。",
    },
    # Campaign measurement (shared.reports): an order is credited to the last offer of its product
    # within attribution_days; a campaign is meant to move retention by target_retention_uplift
    # (0.02 = 2 pp) and monthly ARPU by target_arpu_uplift_fen, unless it says otherwise; the
    # minimum detectable effect assumes at least planning_churn_rate churn over the measured period.
    MEASUREMENT: {
        "attribution_days": 7,
        "target_retention_uplift": 0.02,
        "target_arpu_uplift_fen": 500,
        "planning_churn_rate": 0.05,
        "low_reach_rate": 0.2,
    },
}


def overlay(key: str, stored: object) -> dict[str, Any]:
    """The defaults for `key` overlaid with the members of `stored` they name (top level only).
    A key without defaults returns the stored object as it is."""
    merged = dict(DEFAULTS.get(key, {}))
    if isinstance(stored, dict):
        merged.update({k: v for k, v in stored.items() if k in merged or key not in DEFAULTS})
    return merged


async def get(session: AsyncSession, key: str) -> dict[str, Any]:
    """The effective setting: defaults overlaid with the stored object (see `overlay`)."""
    stored = await session.scalar(select(ProgrammeSetting.value).where(ProgrammeSetting.key == key))
    return overlay(key, stored)


async def put(session: AsyncSession, key: str, value: dict[str, Any], *, staff_id: int | None) -> None:
    """Publish `value` as the whole setting (upsert; the last writer wins). Callers validate it
    and audit the change in the same transaction."""
    stmt = insert(ProgrammeSetting).values(key=key, value=value, updated_by=staff_id)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_by": staff_id})
    )


async def update(session: AsyncSession, key: str, changes: dict[str, Any], *, staff_id: int | None) -> dict[str, Any]:
    """Publish `changes` merged over the effective setting; returns the new effective object."""
    current = await get(session, key)
    current.update(changes)
    await put(session, key, current, staff_id=staff_id)
    return current


async def publish_defaults(session: AsyncSession, key: str) -> None:
    """Store the defaults for `key` unless a value is already published (demo seeders)."""
    stmt = insert(ProgrammeSetting).values(key=key, value=dict(DEFAULTS[key]))
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
