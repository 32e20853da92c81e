"""PUT /v1/webhook in prod mode refuses every SSRF bypass an outside tester found (no real DNS)."""

from __future__ import annotations

import httpx
import pytest

from alliance_app.app import create_app
from shared.models import Merchant
from tests.fixtures.factories import create_merchant
from tests.fixtures.network import PUBLIC_ADDRESS, FakeResolver
from tests.services.alliance.helpers import error, with_key

FOUND = [
    "https://127.1/",
    "https://0177.0.0.1/",
    "https://0x7f.0.0.1/",
    "https://169.254.43518/",
    "https://127.0.0.1.nip.io/",
    "https://localtest.me:5432/",
]


@pytest.fixture(scope="module")
async def prod_client(settings):  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"env": "prod"}))
    app.state.webhook_resolver = FakeResolver(
        {"nip.io": ["127.0.0.1"], "localtest.me": ["127.0.0.1"], "example.com": [PUBLIC_ADDRESS]}
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def test_prod_refuses_the_reported_bypasses(prod_client, sm, tokens) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
    mer = tokens.merchant(m.id)
    for url in FOUND + ["http://localhost:9000/hook", "http://127.0.0.1:9000/h"]:
        body = error(await prod_client.put("/v1/webhook", json={"url": url}, headers=with_key(mer)), 422)
        assert body["error"] == "webhook_url_refused", (url, body)
    async with sm() as s:
        assert (await s.get(Merchant, m.id)).webhook_url is None
    ok = await prod_client.put("/v1/webhook", json={"url": "https://shop.example.com/hook"}, headers=with_key(mer))
    assert ok.status_code == 200 and ok.json()["secret"].startswith("whsec_")
