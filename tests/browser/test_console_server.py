"""The console's server side without a browser: static files (no path escapes, local assets only,
a strict CSP) and the dashboard figures of GET /v1/console/overview against the seeded city."""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.routers.console import STATIC_DIR, resolve_asset
from shared.errors import NotFound
from shared.models import Customer
from tests.browser.seed import ADMIN_PASSWORD, CHURNED_INDEX, RISK_PLAN, STAFF_PASSWORD, TIER_PLAN, City


async def _token(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    resp = await client.post("/v1/auth/login", json={"username": username, "password": password})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_root_redirects_and_assets_are_local(console_url: str) -> None:
    async with httpx.AsyncClient(base_url=console_url) as client:
        root = await client.get("/")
        assert root.status_code in (302, 307) and root.headers["location"] == "/console/"
        index = await client.get("/console/")
        assert index.status_code == 200 and "text/html" in index.headers["content-type"]
        assert "default-src 'self'" in index.headers["content-security-policy"]
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", index.text), "index.html references another host"
        deep_link = await client.get("/console/customers")
        assert deep_link.status_code == 200 and deep_link.text == index.text, "app routes get the page"
        css = await client.get("/console/css/console.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        js = await client.get("/console/js/app.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "http://" not in js.text and "https://" not in js.text


async def test_no_file_outside_the_console_directory_is_served(console_url: str) -> None:
    async with httpx.AsyncClient(base_url=console_url) as client:
        for bad in (
            "/console/../routers/console.py",
            "/console/..%2F..%2Frouters%2Fconsole.py",
            "/console/js/../../../routers/console.py",
            "/console/%2e%2e/%2e%2e/app.py",
            "/console/.hidden.js",
            "/console/js/nope.js",
            "/console/..\\..\\app.py",
        ):
            resp = await client.get(bad)
            assert resp.status_code == 404 or "text/html" in resp.headers["content-type"], bad
            assert "APIRouter" not in resp.text and "create_app" not in resp.text, bad


def test_resolve_asset_stays_inside_the_console_directory() -> None:
    assert resolve_asset("") == STATIC_DIR / "index.html"
    assert resolve_asset("campaigns/new") == STATIC_DIR / "index.html", "app routes get the page"
    assert resolve_asset("js/app.js") == STATIC_DIR / "js" / "app.js"
    for bad in (
        "../routers/console.py",
        "js/../../routers/console.py",
        "..",
        ".hidden.js",
        "js/..\\..\\app.py",
        "js/\x00.js",
        "js/missing.js",
    ):
        with pytest.raises(NotFound):
            resolve_asset(bad)


async def test_overview_counts_tier_by_risk_and_monthly_churn(
    console_url: str,
    city: City,
    console_sm: async_sessionmaker[AsyncSession],
) -> None:
    expected = Counter()
    for i in range(len(city.customers)):
        if i == CHURNED_INDEX:  # the churned hold-out customer is not counted
            continue
        expected[(TIER_PLAN[i % len(TIER_PLAN)], RISK_PLAN[i % len(RISK_PLAN)])] += 1
    async with console_sm() as s:  # customers other tests imported have no profile yet: not scored
        others = (
            await s.execute(
                select(Customer.tier, func.count())
                .where(Customer.id.not_in(city.customers), Customer.status != "churned")
                .group_by(Customer.tier)
            )
        ).all()
    for tier, n in others:
        expected[(tier, None)] += n
    async with httpx.AsyncClient(base_url=console_url) as client:
        headers = await _token(client, "admin", ADMIN_PASSWORD)
        resp = await client.get("/v1/console/overview", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        got = Counter({(r["tier"], r["risk_level"]): r["customers"] for r in body["by_tier_risk"]})
        assert got == expected
        assert body["customers"] == sum(expected.values())
        assert len(body["churn_trend"]) == 12
        assert sum(m["churned"] for m in body["churn_trend"]) == 1
        month = next(m for m in body["churn_trend"] if m["churned"])
        assert month["churn_rate"] == 1 / month["base"]

        assert (await client.get("/v1/console/overview")).status_code == 401
        assert (await client.get("/v1/console/overview", params={"months": 99}, headers=headers)).status_code == 422
        auditor = await _token(client, "auditor", STAFF_PASSWORD)
        assert (await client.get("/v1/console/overview", headers=auditor)).status_code == 200
        head = await _token(client, "head99", STAFF_PASSWORD)
        scoped = (await client.get("/v1/console/overview", headers=head)).json()
        assert scoped["customers"] == 0 and scoped["by_tier_risk"] == [], "a branch head sees only their branch"
