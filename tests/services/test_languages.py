"""Error details follow Accept-Language: Chinese by default, English on request, same code and context.

For each of the customer, manager and alliance apps (their texts reach end users' screens) a 404,
409, 422 and 429 is asked for twice, without the header and with `Accept-Language: en`.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from shared.i18n import ZH, catalogue, translate
from tests.fixtures.factories import TEST_PASSWORD, create_customer, create_merchant, create_staff
from tests.fixtures.factories_manager import assign
from tests.fixtures.factories_manager import task as create_task
from tests.services.alliance.helpers import offer_body

CJK = re.compile(r"[\u4e00-\u9fff]")
EN = {"Accept-Language": "en"}
_hosts = itertools.count(1)

Send = Callable[[dict[str, str]], Awaitable[httpx.Response]]


def client_at(app: FastAPI) -> httpx.AsyncClient:
    """A client from an address no other test here uses (rate limits are kept per address)."""
    n = next(_hosts)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(f"203.0.113.{n}", 40_000)), base_url="http://test"
    )


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"lang-{secrets.token_hex(8)}"}


async def in_both(send: Send, status: int, english: str) -> tuple[dict, dict]:
    """The same refusal without Accept-Language (Chinese) and with `en`: only `detail` differs."""
    zh_resp, en_resp = await send({}), await send(EN)
    assert zh_resp.status_code == status, zh_resp.text
    assert en_resp.status_code == status, en_resp.text
    zh, en = zh_resp.json(), en_resp.json()
    assert set(zh) == set(en) == {"error", "detail", "context"}
    assert (zh["error"], zh["context"]) == (en["error"], en["context"])
    assert en["detail"] == translate(english, "en", en["context"]) and not CJK.search(en["detail"])
    assert zh["detail"] == translate(catalogue(ZH)[english], "en", zh["context"]) and CJK.search(zh["detail"])
    assert zh_resp.headers["content-language"] == "zh-CN" and en_resp.headers["content-language"] == "en"
    assert "accept-language" in zh_resp.headers["vary"].lower()
    return zh, en


async def test_customer_app(customer_app, customer_client, sm, tokens) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    h = tokens.customer(c.id)
    await in_both(lambda lang: customer_client.get("/v1/hunts/999999", headers={**h, **lang}), 404, "hunt not found")
    assert (await customer_client.post("/v1/checkin", headers={**h, **key()})).status_code == 200
    zh, _ = await in_both(
        lambda lang: customer_client.post("/v1/checkin", headers={**h, **key(), **lang}),
        409,
        "already checked in today",
    )
    assert zh["error"] == "conflict" and "local_date" in zh["context"]
    await in_both(
        lambda lang: customer_client.post("/v1/orders", json={"product_id": "x"}, headers={**h, **key(), **lang}),
        422,
        "the request is not valid",
    )
    async with client_at(customer_app) as anonymous:
        for i in range(10):  # TENURE_OTP_SEND_PER_ADDRESS: unknown numbers count too
            assert (await anonymous.post("/v1/auth/otp", json={"phone": f"1391234{i:04d}"})).status_code == 202
        zh, _ = await in_both(
            lambda lang: anonymous.post("/v1/auth/otp", json={"phone": "13912349999"}, headers=lang),
            429,
            "too many codes requested from this address; try again later",
        )
    assert zh["context"]["retry_after_s"] > 0


async def test_manager_app(manager_app, manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        mgr = await create_staff(s)
        c = await create_customer(s)
        await assign(s, c.id, mgr.id)
        done = await create_task(s, c.id, mgr.id, status="done")
    h = tokens.manager(mgr.id)
    await in_both(
        lambda lang: manager_client.get("/v1/customers/999999", headers={**h, **lang}), 404, "customer not found"
    )
    zh, _ = await in_both(
        lambda lang: manager_client.post(f"/v1/tasks/{done.id}/start", headers={**h, **lang}),
        409,
        "task is already finished",
    )
    assert zh["context"] == {"task_id": done.id, "status": "done"}
    await in_both(
        lambda lang: manager_client.get("/v1/customers?tag=no%20spaces", headers={**h, **lang}), 422, "bad tag code"
    )
    async with client_at(manager_app) as guesser:
        wrong = {"username": mgr.username, "password": "not-" + TEST_PASSWORD}
        for _ in range(5):  # TENURE_LOGIN_MAX_FAILURES for one account from one address
            assert (await guesser.post("/v1/auth/login", json=wrong)).status_code == 401
        await in_both(
            lambda lang: guesser.post("/v1/auth/login", json=wrong, headers=lang),
            429,
            "too many failed sign-ins; try again later",
        )


async def test_alliance_app(alliance_client, sm, tokens) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
    mer = tokens.merchant(m.id)
    offer = await alliance_client.post("/v1/offers", json=offer_body(stock_total=3), headers={**mer, **key()})
    oid = offer.json()["id"]
    await in_both(
        lambda lang: alliance_client.post(
            f"/v1/offers/{oid}/stock", json={"delta": -4}, headers={**mer, **key(), **lang}
        ),
        409,
        "stock cannot go below zero (or the offer is closed, or at its exposure cap)",
    )
    zh, _ = await in_both(
        lambda lang: alliance_client.post(
            "/v1/offers", json=offer_body(price_points=0), headers={**mer, **key(), **lang}
        ),
        422,
        "an offer needs a price in points or airtime",
    )
    assert zh["error"] == "offer_free"

    def redeem_unknown(lang: dict[str, str]) -> Awaitable[httpx.Response]:
        return alliance_client.post(
            "/v1/coupons/redeem", json={"code": "ABCDEFGHJKLMNPQRSTUV"}, headers={**mer, **key(), **lang}
        )

    for _ in range(8):  # with the two below, TENURE_TILL_GUESS_LIMIT refused codes
        assert (await redeem_unknown({})).status_code == 404
    await in_both(redeem_unknown, 404, "coupon code is not redeemable here")
    await in_both(redeem_unknown, 429, "too many refused coupon codes; wait a minute")


@pytest.mark.parametrize("client_name", ["customer_client", "manager_client", "alliance_client", "admin_client"])
async def test_framework_errors_follow_the_language_too(clients, client_name: str) -> None:
    client = clients[client_name]
    zh, _ = await in_both(lambda lang: client.get("/v1/no-such-route", headers=lang), 404, "Not Found")
    assert zh["context"] == {"no_route": True}  # what the console reads as "not built yet", in any language
    await in_both(lambda lang: client.delete("/healthz", headers=lang), 405, "Method Not Allowed")
    big = b"x" * (1024 * 1024 + 1)  # past TENURE_MAX_BODY_BYTES: refused by the body-limit middleware
    zh, en = await in_both(
        lambda lang: client.post("/v1/auth/login", content=big, headers=lang),
        413,
        "the request body is larger than {limit_bytes} bytes",
    )
    assert (
        str(zh["context"]["limit_bytes"]) in zh["detail"]
        and en["detail"] == f"the request body is larger than {zh['context']['limit_bytes']} bytes"
    )


async def test_the_header_is_negotiated(customer_client) -> None:
    async def detail(header: str) -> tuple[str, str]:
        r = await customer_client.get("/v1/hunts/1", headers={"Accept-Language": header})
        return r.headers["content-language"], r.json()["detail"]

    assert (await detail("zh-Hans-CN"))[0] == "zh-CN"
    assert await detail("fr-FR, en;q=0.8, zh;q=0.5") == ("en", "missing bearer token")
    assert (await detail("en;q=0.2, zh-CN;q=0.9"))[0] == "zh-CN"
    assert (await detail("de"))[0] == "zh-CN"  # nothing we have: the default


async def test_the_default_language_is_a_setting(settings) -> None:
    from customer_app.app import create_app

    app = create_app(settings.model_copy(update={"default_language": "en"}))
    async with app.router.lifespan_context(app), client_at(app) as c:
        r = await c.get("/v1/hunts/1")
        assert (r.headers["content-language"], r.json()["detail"]) == ("en", "missing bearer token")
        r = await c.get("/v1/hunts/1", headers={"Accept-Language": "zh-CN"})
        assert r.headers["content-language"] == "zh-CN" and CJK.search(r.json()["detail"])
