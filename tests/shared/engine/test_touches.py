"""Contact pressure and touch recording (shared.touches.service)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.errors import Conflict, NotFound
from shared.touches.service import check_contact_pressure, record_touch
from tests.fixtures.factories import create_customer


async def test_monthly_cap_across_channels(db) -> None:  # type: ignore[no-untyped-def]
    c = await create_customer(db)
    for i, channel in enumerate(["sms", "outbound_call", "manager_call", "app_push"]):
        await check_contact_pressure(db, customer_id=c.id, channel="sms")
        await record_touch(db, customer_id=c.id, channel=channel, outcome="reached", key=f"t-{c.id}-{i}")
    with pytest.raises(Conflict) as exc:
        await check_contact_pressure(db, customer_id=c.id, channel="outbound_call")
    assert exc.value.context["reason"] == "monthly_cap"
    await check_contact_pressure(db, customer_id=c.id, channel="hall")  # inbound: not pressure


async def test_inbound_touches_do_not_count_toward_the_cap(db) -> None:  # type: ignore[no-untyped-def]
    """Four hotline calls and hall visits this month leave the outbound allowance untouched
    (the nightly engine's touches_this_month counts the same channels)."""
    c = await create_customer(db)
    for i, channel in enumerate(["hotline", "hotline", "hall", "app"]):
        await record_touch(db, customer_id=c.id, channel=channel, outcome="reached", key=f"in-{c.id}-{i}")
    await check_contact_pressure(db, customer_id=c.id, channel="outbound_call")


async def test_cap_is_editable(db) -> None:  # type: ignore[no-untyped-def]
    c = await create_customer(db)
    await db.execute(
        text(
            "INSERT INTO programme_settings (key, value) VALUES ('contact_pressure', '{\"max_per_month\": 1}') "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
    )
    await record_touch(db, customer_id=c.id, channel="sms", outcome="reached")
    with pytest.raises(Conflict):
        await check_contact_pressure(db, customer_id=c.id, channel="sms")


async def test_do_not_disturb_only_blocks_outbound(db) -> None:  # type: ignore[no-untyped-def]
    c = await create_customer(db, do_not_disturb=True)
    with pytest.raises(Conflict) as exc:
        await check_contact_pressure(db, customer_id=c.id, channel="outbound_call")
    assert exc.value.context["reason"] == "do_not_disturb"
    await check_contact_pressure(db, customer_id=c.id, channel="hall")


async def test_cool_off_after_refusal(db) -> None:  # type: ignore[no-untyped-def]
    c = await create_customer(db)
    await record_touch(db, customer_id=c.id, channel="outbound_call", outcome="refused")
    with pytest.raises(Conflict) as exc:
        await check_contact_pressure(db, customer_id=c.id, channel="app_push")
    assert exc.value.context["reason"] == "cool_off"


async def test_touch_key_is_idempotent_and_unknown_customer_404(db) -> None:  # type: ignore[no-untyped-def]
    c = await create_customer(db)
    a = await record_touch(db, customer_id=c.id, channel="sms", outcome="reached", key=f"same-{c.id}")
    b = await record_touch(db, customer_id=c.id, channel="sms", outcome="reached", key=f"same-{c.id}")
    assert a.id == b.id
    with pytest.raises(NotFound):
        await check_contact_pressure(db, customer_id=10**15, channel="sms")


async def test_inbound_hotline_call_passes_cool_off(db) -> None:  # type: ignore[no-untyped-def]
    """Inbound contact is the customer's own: an outbound refusal's cool-off does not block it."""
    c = await create_customer(db)
    await record_touch(db, customer_id=c.id, channel="outbound_call", outcome="refused")
    with pytest.raises(Conflict):
        await check_contact_pressure(db, customer_id=c.id, channel="outbound_call")
    await check_contact_pressure(db, customer_id=c.id, channel="hotline")
