"""Webhook URLs reach public hosts only: every resolved address is checked when the URL is set and
again right before each send, and the send connects to the checked address (no DNS rebinding)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from shared.alliance import egress, webhooks
from shared.models import Merchant, WebhookDelivery
from shared.settings import Settings
from tests.fixtures.factories import create_merchant
from tests.fixtures.network import PUBLIC_ADDRESS, FakeResolver

REBINDERS = {
    "nip.io": ["127.0.0.1"],
    "localtest.me": ["127.0.0.1", "::1"],
    "mixed.example.net": [PUBLIC_ADDRESS, "10.1.2.3"],
    "meta.example.org": ["169.254.169.254"],
    "v6.example.org": ["2001:4860:4860::8888", "fd00::5"],
}

BYPASSES = [
    # numeric forms the C library parses without any lookup
    "https://127.1/",
    "https://0177.0.0.1/",
    "https://0x7f.0.0.1/",
    "https://169.254.43518/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0/",
    "https://100.64.0.1/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://192.0.2.10/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[::]/",
    "https://[::1]/",
    "https://[ff02::1]/",
    # names that resolve to private addresses (from the fake DNS)
    "https://127.0.0.1.nip.io/",
    "https://localtest.me:5432/",
    "https://mixed.example.net/hook",
    "https://meta.example.org/latest",
    "https://v6.example.org/h",
    "https://unknown.invalid/h",
    # shapes
    "http://shop.example.com/hook",
    "https://127.0.0.1\x00.example.com/",
    "https://exa%6dple.com/",
]


@pytest.mark.parametrize("url", BYPASSES)
async def test_private_destinations_are_refused_in_prod(url: str) -> None:
    resolver = FakeResolver(REBINDERS)
    with pytest.raises(egress.BlockedDestination):
        await webhooks.check_url(url, allow_local=False, resolver=resolver)


async def test_numeric_hosts_are_parsed_without_a_lookup() -> None:
    resolver = FakeResolver({})
    for url in ("https://127.1/", "https://0x7f.0.0.1/", "https://169.254.43518/"):
        with pytest.raises(egress.BlockedDestination):
            await webhooks.check_url(url, allow_local=False, resolver=resolver)
    assert resolver.calls == []
    assert egress.numeric_addresses("169.254.43518") == ["169.254.169.254"]


async def test_public_names_pass_with_every_address_checked() -> None:
    resolver = FakeResolver({"example.com": [PUBLIC_ADDRESS, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    target = await webhooks.check_url(" https://shop.example.com:8443/tenure ", allow_local=False, resolver=resolver)
    assert (target.url, target.host, target.port) == ("https://shop.example.com:8443/tenure", "shop.example.com", 8443)
    assert set(target.addresses) == {PUBLIC_ADDRESS, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}


async def test_the_dev_exception_is_loopback_only() -> None:
    resolver = FakeResolver({"localhost": ["127.0.0.1", "::1"], **REBINDERS})
    assert (await webhooks.check_url("http://localhost:9000/h", allow_local=True, resolver=resolver)).addresses
    for url in ("https://10.0.0.5/h", "https://169.254.169.254/", "https://meta.example.org/", "http://10.0.0.5/h"):
        with pytest.raises(egress.BlockedDestination):
            await webhooks.check_url(url, allow_local=True, resolver=resolver)


def test_prod_settings_never_allow_local_webhooks() -> None:
    prod = {"env": "prod", "jwt_secret": "j" * 48, "coupon_code_key": "c" * 48, "sms_gateway_secret": "g" * 48}
    assert Settings(**prod).webhooks_local_allowed is False
    assert Settings(env="dev").webhooks_local_allowed is True
    assert Settings(env="dev", webhooks_allow_local=False).webhooks_local_allowed is False
    with pytest.raises(ValueError):
        Settings(**prod, webhooks_allow_local=True)


async def _hooked_merchant(sm, url: str = "https://shop.example.com/hook") -> int:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        m = await create_merchant(s)
        target = await webhooks.check_url(url, allow_local=False, resolver=FakeResolver())
        await webhooks.set_endpoint(s, merchant_id=m.id, target=target)
        await webhooks.enqueue(s, merchant=await s.get(Merchant, m.id), event="test.ping", payload={"n": 1})
    return m.id


async def test_delivery_refuses_a_name_that_now_resolves_to_a_private_address(sm) -> None:
    merchant_id = await _hooked_merchant(sm)
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(204))
    rebound = FakeResolver({"example.com": ["10.0.0.7"]})
    assert await webhooks.deliver_due(sm, merchant_id=merchant_id, transport=transport, resolver=rebound) == {
        "delivered": 0,
        "retry": 1,
        "failed": 0,
    }
    assert sent == []
    async with sm() as s:
        row = await s.scalar(select(WebhookDelivery).where(WebhookDelivery.merchant_id == merchant_id))
    assert row.status == "pending" and row.last_error.startswith("refused:")


async def test_delivery_connects_to_the_checked_address_with_the_name_for_tls(sm) -> None:
    merchant_id = await _hooked_merchant(sm, "https://shop.example.com:8443/hook?x=1")
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(204))
    assert (await webhooks.deliver_due(sm, merchant_id=merchant_id, transport=transport, resolver=FakeResolver()))[
        "delivered"
    ] == 1
    (request,) = sent
    assert str(request.url) == f"https://{PUBLIC_ADDRESS}:8443/hook?x=1"
    assert request.headers["host"] == "shop.example.com:8443"
    assert request.extensions["sni_hostname"] == "shop.example.com"
