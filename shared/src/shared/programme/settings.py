"""Engine thresholds kept in `programme_settings` so the back office can edit them.

Each key holds a JSON object; missing members fall back to the defaults here, so adding a
threshold never needs a data migration. Values are only ever passed to SQL as bound parameters.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULTS: dict[str, dict[str, Any]] = {
    "four_high": {
        "tariff_min_fen": 2000,          # roaming + long distance in the month
        "tariff_min_share": 0.25,        # ... and at least this share of the bill
        "payg_min_fen": 2000,            # pay-per-use data in the month
        "silence_max_use_ratio": 0.15,   # both voice and data use below this share of allowance
        "silence_min_silent_services": 1,
        "arpu_min_bill_fen": 15000,      # bill at least this high ...
        "arpu_max_use_ratio": 0.35,      # ... while using under this share of the allowance
    },
    "contact_pressure": {"max_per_month": 4, "cool_off_days": 30},
    "segments": {
        "loss_trend": -0.3,              # ARPU or usage falling faster than this over 3 months
        "loss_complaints": 2,
        "surplus_max_ratio": 0.3,
        "shortage_min_ratio": 1.0,
        "shortage_payg_fen": 1500,
        "low_freq_active_days": 8,
        "high_value_arpu_fen": 12000,
    },
    "assignment": {"min_arpu_fen": 15000, "min_per_manager": 300, "max_per_manager": 500},
    "clusters": {"k": 6, "sample": 50000},
    "care": {"holiday_lead_days": 7, "birthday_lead_days": 7},
}


async def get(session: AsyncSession, key: str) -> dict[str, Any]:
    """Defaults overlaid with the stored object for `key` (unknown members are ignored)."""
    stored = await session.scalar(text("SELECT value FROM programme_settings WHERE key = :k"), {"k": key})
    merged = dict(DEFAULTS.get(key, {}))
    if isinstance(stored, dict):
        merged.update({k: v for k, v in stored.items() if k in merged or key not in DEFAULTS})
    return merged


async def put(session: AsyncSession, key: str, value: dict[str, Any], *, staff_id: int | None) -> dict[str, Any]:
    """Store `value` (merged over the current one); returns the effective object."""
    current = await get(session, key)
    current.update(value)
    await session.execute(
        text(
            "INSERT INTO programme_settings (key, value, updated_by) VALUES (:k, CAST(:v AS jsonb), :s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by"
        ),
        {"k": key, "v": _json(current), "s": staff_id},
    )
    return current


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
