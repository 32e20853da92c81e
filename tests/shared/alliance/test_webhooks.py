"""Webhook URL validation, HMAC signing checked by a local receiver, retries with backoff."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from shared.alliance import redemption, webhooks
from shared.alliance.coupons import code_of
from shared.errors import Unprocessable
from shared.models import Merchant, WebhookDelivery
from tests.fixtures.factories import create_customer, create_merchant
from tests.fixtures.factories_alliance import create_coupon, create_offer
from tests.fixtures.network import FakeResolver


async def _endpoint(s, merchant_id: int, url: str = "https://shop.example.com/hook") -> str:  # type: ignore[no-untyped-def]
    target = await webhooks.check_url(url, allow_local=False, resolver=FakeResolver())
    return await webhooks.set_endpoint(s, merchant_id=merchant_id, target=target)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "http://example.com/hook",
        "javascript:alert(1)",
        "not a url",
        "https://user:pw@example.com/x",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://intranet/hook",
        "http://localhost:9000/hook",
    ],
)
def test_bad_urls_are_refused_in_prod(url: str) -> None:
    with pytest.raises(Unprocessable):
        webhooks.validate_url(url, allow_local=False)


def test_dev_still_refuses_plain_http_to_other_hosts() -> None:
    with pytest.raises(Unprocessable):
        webhooks.validate_url("http://example.com/hook", allow_local=True)


def test_good_urls_pass() -> None:
    assert webhooks.validate_url("https://shop.example.com/tenure", allow_local=False)
    assert webhooks.validate_url("http://localhost:9000/hook", allow_local=True)
    assert webhooks.validate_url("http://127.0.0.1:9000/hook", allow_local=True)


def test_signature_round_trip() -> None:
    header = webhooks.sign("s3cret", 1_700_000_000, b'{"a":1}')
    assert webhooks.verify_signature("s3cret", header, b'{"a":1}', now=1_700_000_010)
    assert not webhooks.verify_signature("s3cret", header, b'{"a":2}', now=1_700_000_010)
    assert not webhooks.verify_signature("other", header, b'{"a":1}', now=1_700_000_010)
    assert not webhooks.verify_signature("s3cret", header, b'{"a":1}', now=1_700_000_000 + 3600)  # replay window


class Receiver:
    """A local receiver: fails the first `fail` calls with 503, then verifies and accepts."""

    def __init__(self, secret: str, fail: int = 0) -> None:
        self.secret, self.fail, self.calls, self.accepted = secret, fail, 0, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.fail:
            return httpx.Response(503)
        body = request.read()
        if not webhooks.verify_signature(self.secret, request.headers[webhooks.SIGNATURE_HEADER], body):
            return httpx.Response(401)
        self.accepted.append(json.loads(body))
        return httpx.Response(204)


async def test_outbox_delivery_signed_and_retried(sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        secret = await _endpoint(s, m.id)
        offer = await create_offer(s, merchant_id=m.id)
        c = await create_customer(s)
        code = code_of(await create_coupon(s, offer_id=offer.id, customer_id=c.id))
        done = await redemption.redeem(s, merchant_id=m.id, code=code, request_key="wh-1")
        assert done.notify
    receiver = Receiver(secret, fail=2)
    transport = httpx.MockTransport(receiver)
    first = await webhooks.deliver_due(sm, merchant_id=m.id, transport=transport, resolver=FakeResolver())
    assert first == {"delivered": 0, "retry": 1, "failed": 0}
    async with sm() as s:
        row = await s.scalar(select(WebhookDelivery).where(WebhookDelivery.merchant_id == m.id))
        assert row.status == "pending" and row.attempts == 1 and row.last_error == "HTTP 503"
    # not due yet: backoff pushed next_attempt_at into the future
    assert await webhooks.deliver_due(sm, merchant_id=m.id, transport=transport, resolver=FakeResolver()) == {
        "delivered": 0,
        "retry": 0,
        "failed": 0,
    }
    for expected in ({"delivered": 0, "retry": 1, "failed": 0}, {"delivered": 1, "retry": 0, "failed": 0}):
        async with sm.begin() as s:  # fast-forward the clock for this row
            await s.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.merchant_id == m.id)
                .values(next_attempt_at=WebhookDelivery.next_attempt_at - timedelta(hours=2))
            )
        assert (
            await webhooks.deliver_due(sm, merchant_id=m.id, transport=transport, resolver=FakeResolver()) == expected
        )
    assert receiver.calls == 3 and len(receiver.accepted) == 1
    event = receiver.accepted[0]
    assert event["event"] == "coupon.redeemed" and event["data"]["redemption_id"] == done.redemption.id
    assert "phone" not in json.dumps(event)


async def test_gives_up_after_max_attempts(sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        await _endpoint(s, m.id)
        merchant = await s.get(Merchant, m.id)
        await webhooks.enqueue(s, merchant=merchant, event="test.ping", payload={})
        await s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.merchant_id == m.id)
            .values(attempts=webhooks.MAX_ATTEMPTS - 1)
        )
    down = httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    assert await webhooks.deliver_due(sm, merchant_id=m.id, transport=down, resolver=FakeResolver()) == {
        "delivered": 0,
        "retry": 0,
        "failed": 1,
    }


def test_backoff_grows_and_caps() -> None:
    assert [webhooks.backoff_s(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert webhooks.backoff_s(30) == webhooks.MAX_BACKOFF_S
