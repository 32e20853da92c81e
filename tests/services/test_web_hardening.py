"""Production web-layer rules (issue 18): /metrics behind a token, the JWT secret's strength with a
refusal that prints no secret, and security headers on every response."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from admin_app.app import create_app as create_admin
from customer_app.app import create_app as create_customer_app
from shared.settings import DEV_JWT_SECRET, Settings

SECRET = "prod-secret-" + "k" * 40
COUPON_KEY = "prod-coupon-key-" + "c" * 40
METRICS_TOKEN = "scrape-" + "m" * 40


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://t") -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as c:
            yield c


async def test_metrics_in_prod_need_the_token_and_are_absent_without_one(settings: Settings) -> None:
    prod = settings.model_copy(update={"env": "prod", "jwt_secret": SECRET, "coupon_code_key": COUPON_KEY})
    async with running(create_customer_app(prod)) as c:
        r = await c.get("/metrics")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
    with_token = prod.model_copy(update={"metrics_token": METRICS_TOKEN})
    async with running(create_customer_app(with_token)) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"}):
            r = await c.get("/metrics", headers=headers)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized", headers
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert r.status_code == 200 and "tenure_http_requests_total" in r.text
    async with running(create_customer_app(settings)) as c:  # development: open, as before
        assert (await c.get("/metrics")).status_code == 200


def test_prod_refuses_a_short_or_default_secret_without_printing_it() -> None:
    url = "postgresql://tenure:hunter2-db-password@db.internal:5432/tenure"
    for secret in ("abc-tiny-secret", "x" * 31, DEV_JWT_SECRET):
        with pytest.raises(ValidationError) as refused:
            Settings(env="prod", jwt_secret=secret, coupon_code_key=COUPON_KEY, DATABASE_URL=url)
        shown = str(refused.value) + repr(refused.value)
        assert "TENURE_JWT_SECRET" in shown
        assert secret not in shown and "hunter2" not in shown and "db.internal" not in shown
    ok = Settings(
        env="prod", jwt_secret="s" * 32, coupon_code_key=COUPON_KEY, sms_gateway_secret="g" * 48, DATABASE_URL=url
    )
    assert "hunter2" not in repr(ok) and "s" * 32 not in repr(ok)
    Settings(env="dev", jwt_secret="abc")  # development keeps its freedom


def test_a_service_refusing_to_start_prints_neither_secret_nor_database_url() -> None:
    env = {
        **os.environ,
        "TENURE_ENV": "prod",
        "TENURE_JWT_SECRET": "abc-tiny-secret",
        "DATABASE_URL": "postgresql://tenure:hunter2-db-password@db.internal:5432/tenure",
    }
    started = subprocess.run(
        [sys.executable, "-c", "from customer_app.app import create_app; create_app()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    printed = started.stdout + started.stderr
    assert started.returncode != 0
    assert "TENURE_JWT_SECRET must be at least 32 bytes" in printed
    for leak in ("abc-tiny-secret", "hunter2", "db.internal"):
        assert leak not in printed


async def test_security_headers_on_every_response(settings: Settings) -> None:
    async with running(create_customer_app(settings)) as c:
        for r in (await c.get("/healthz"), await c.get("/v1/account"), await c.get("/nowhere")):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in r.headers  # plain http: HSTS means nothing here
        behind_proxy = await c.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert behind_proxy.headers["strict-transport-security"].startswith("max-age=")
    async with running(create_customer_app(settings), base_url="https://t") as c:
        assert "max-age=31536000" in (await c.get("/healthz")).headers["strict-transport-security"]


async def test_the_console_keeps_its_csp(settings: Settings) -> None:
    async with running(create_admin(settings)) as c:
        r = await c.get("/console/")
        assert r.status_code == 200
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers.get_list("x-content-type-options") == ["nosniff"]  # not doubled
        assert r.headers["x-frame-options"] == "DENY"
