"""Connection timeouts are set, production hides the docs, and a dead database answers 503 fast."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import text

from customer_app.app import create_app as create_customer_app
from shared.settings import Settings


async def test_connections_carry_timeouts(engine) -> None:
    async with engine.connect() as conn:
        assert (await conn.scalar(text("SHOW statement_timeout"))) == "15s"
        assert (await conn.scalar(text("SHOW lock_timeout"))) == "5s"
        assert (await conn.scalar(text("SHOW idle_in_transaction_session_timeout"))) == "30s"


async def test_prod_settings_hide_docs(settings: Settings) -> None:
    prod = settings.model_copy(update={"env": "prod", "jwt_secret": "a-real-secret-" + "x" * 40})
    app = create_customer_app(prod)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await c.get(path)).status_code == 404


def test_prod_refuses_dev_secret() -> None:
    import pytest

    with pytest.raises(ValueError):
        Settings(env="prod")


async def test_database_down_gives_503_quickly(settings: Settings) -> None:
    dead = settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/nowhere"})
    app = create_customer_app(dead)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        started = time.perf_counter()
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"] == "service_unavailable"
        login = await c.post("/v1/auth/otp", json={"phone": "13800000001"})
        assert login.status_code == 503, login.text
        assert set(login.json()) == {"error", "detail", "context"}
        assert time.perf_counter() - started < 10  # bounded by the 2 s connect timeout, not hanging
