"""Admission control: past TENURE_MAX_IN_FLIGHT requests in flight a worker answers 503 at once
(machine-readable, Chinese-first detail, Retry-After) instead of queueing without bound; health and
metrics are never refused, and the requests already admitted finish normally.

Real HTTP over TCP to a uvicorn server in this process, with real concurrent requests: routes that
wait on an event hold their slots while the excess is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import APIRouter

from shared.settings import Settings
from shared.web.app import create_service_app

LIMIT = 4


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[str, asyncio.Event, list[int]]]:
    release = asyncio.Event()
    entered: list[int] = []
    router = APIRouter()

    @router.get("/v1/slow")
    async def slow() -> dict[str, bool]:
        entered.append(1)
        await release.wait()
        return {"ok": True}

    @router.get("/v1/fast")
    async def fast() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/v1/boom")
    async def boom() -> dict[str, bool]:
        raise RuntimeError("a failing route must give its slot back")

    app = create_service_app(
        name="admission-test",
        title="t",
        audience="customer-app",
        routers=[router],
        settings=settings.model_copy(update={"max_in_flight": LIMIT}),
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", release, entered
    finally:
        release.set()
        server.should_exit = True
        await task


async def test_past_the_limit_requests_get_503_at_once_and_the_admitted_ones_succeed(served) -> None:  # type: ignore[no-untyped-def]
    url, release, entered = served
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        held = [asyncio.create_task(client.get("/v1/slow")) for _ in range(LIMIT)]
        while len(entered) < LIMIT:  # every slot taken by a request inside its route
            await asyncio.sleep(0.01)
        # the excess, concurrently: all answered while the admitted requests are still waiting
        excess = await asyncio.gather(*[client.get("/v1/fast") for _ in range(10)])
        assert not any(t.done() for t in held)
        for r in excess:
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "1"
            assert r.headers["content-language"] == "zh-CN"
            body = r.json()
            assert body["error"] == "overloaded"
            assert body["context"] == {"retry_after_s": 1, "max_in_flight": LIMIT}
            assert body["detail"] == "服务繁忙，请 1 秒后重试"
            assert "x-request-id" in r.headers  # inside the observing middleware
        english = await client.get("/v1/fast", headers={"Accept-Language": "en"})
        assert english.json()["detail"] == "the service is busy; retry in 1 s"
        # health, readiness and metrics are never refused
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(path)).status_code == 200, path
        release.set()
        done = await asyncio.gather(*held)
        assert [r.status_code for r in done] == [200] * LIMIT
        # the slots are free again: a full limit's worth of requests at once all succeed
        again = await asyncio.gather(*[client.get("/v1/fast") for _ in range(LIMIT)])
        assert [r.status_code for r in again] == [200] * LIMIT


async def test_a_failing_request_gives_its_slot_back(served) -> None:  # type: ignore[no-untyped-def]
    url, _release, _entered = served
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(LIMIT + 2):
            assert (await client.get("/v1/boom")).status_code == 500
        assert (await client.get("/v1/fast")).status_code == 200
