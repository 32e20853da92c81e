"""A dead webhook receiver never affects the till: the redeem answers, the outbox keeps the event."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from shared.alliance import webhooks
from shared.alliance.coupons import code_of
from shared.models import WebhookDelivery
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_coupon, create_offer
from tests.services.alliance.helpers import with_key


async def test_redeem_succeeds_while_the_receiver_is_down(alliance_client, alliance_app, tokens, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        offer = await create_offer(s, merchant_id=m.id)
        coupon = await create_coupon(s, offer_id=offer.id, customer_id=(await create_customer(s)).id)
    mer = tokens.merchant(m.id)
    assert (
        await alliance_client.put("/v1/webhook", json={"url": "https://down.example.com/h"}, headers=with_key(mer))
    ).status_code == 200

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    alliance_app.state.webhook_transport = httpx.MockTransport(refuse)
    try:
        resp = await alliance_client.post("/v1/coupons/redeem", json={"code": code_of(coupon)}, headers=with_key(mer))
    finally:
        del alliance_app.state.webhook_transport
    assert resp.status_code == 200, resp.text
    async with sm() as s:
        row = await s.scalar(select(WebhookDelivery).where(WebhookDelivery.merchant_id == m.id))
    assert (row.event, row.status, row.attempts) == ("coupon.redeemed", "pending", 1)
    assert "ConnectError" in row.last_error
    deliveries = await alliance_client.get("/v1/webhook/deliveries", headers=mer)
    assert [d["status"] for d in deliveries.json()] == ["pending"]
    assert (await alliance_client.get("/v1/webhook", headers=mer)).json()["secret"] is None
    assert webhooks.backoff_s(row.attempts) == webhooks.BASE_BACKOFF_S
