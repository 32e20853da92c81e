"""Helpers for the customer-app HTTP tests."""

from __future__ import annotations

import uuid

import httpx

ERROR_KEYS = {"error", "detail", "context"}


def idem(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or f"k-{uuid.uuid4().hex}"}


def assert_error(resp: httpx.Response, status: int | tuple[int, ...]) -> dict:
    expected = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in expected, (resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    return body


import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from customer_app.app import create_app  # noqa: E402
from shared.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
async def customer_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The customer app with a small, patient pool.

    The concurrency tests run hundreds of requests and the app in ONE event loop on a shared
    2-core machine: with 60 connections in flight, a transaction holding a hot row (a prize)
    waits for its turn on the loop between statements, and lock or pool timeouts would hide the
    result being tested. Fewer connections keep each holder's turn short; requests queue instead.
    """
    app: FastAPI = create_app(settings.model_copy(update={"pool_timeout_s": 120.0, "pool_size": 12, "max_overflow": 0}))
    async with app.router.lifespan_context(app):
        yield app
