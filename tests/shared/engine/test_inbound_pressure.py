"""Inbound touches are not contact pressure in the nightly engine either (issue 14 item 11).

shared.touches.service counts only OUTBOUND_CHANNELS toward the monthly cap; the engine's
features.sql `touches_this_month` (read by the strategies stage) binds the same set, so a customer
who called the hotline four times this month still gets tonight's offer on its outbound channel, and
one who was called four times gets it only in the app (the channel fall-back: inbound, never capped).
"""

from __future__ import annotations

from sqlalchemy import text

from shared.touches.service import record_touch
from tests.shared.engine.conftest import load_city, run


async def _touch(s, customer_id: int, channel: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        await record_touch(s, customer_id=customer_id, channel=channel, outcome="reached")


async def test_inbound_calls_leave_the_outbound_offer_and_outbound_calls_cap_it(sm, engine) -> None:  # type: ignore[no-untyped-def]
    city = await load_city(sm, n=100)
    inbound, outbound, untouched = city.planted("payg")  # each gets a strategy offer (high pay-per-use data)
    async with sm.begin() as s:
        await _touch(s, inbound, "hotline", 4)
        await _touch(s, outbound, "outbound_call", 2)
        await _touch(s, outbound, "sms", 2)
    await run(engine, city)
    async with sm() as s:
        features = dict(
            (
                await s.execute(
                    text("SELECT customer_id, touches_this_month FROM customer_features WHERE customer_id = ANY(:ids)"),
                    {"ids": [inbound, outbound, untouched]},
                )
            ).all()
        )
        offered = dict(
            (
                await s.execute(
                    text(
                        "SELECT customer_id, channel FROM recommendations WHERE customer_id = ANY(:ids) "
                        "AND status = 'open' AND strategy_id IS NOT NULL"
                    ),
                    {"ids": [inbound, outbound, untouched]},
                )
            ).all()
        )
    assert features == {inbound: 0, outbound: 4, untouched: 0}
    assert set(offered) == {inbound, outbound, untouched}
    assert offered[outbound] == "app"  # capped: offered in the app instead of on an outbound channel
