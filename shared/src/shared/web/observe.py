"""Pure ASGI middleware: request id, metrics, access log, no-store on API responses, and the
security headers on every response: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`
(unless the response set its own; the console adds its CSP) and, when the request came over TLS
(scheme https, or `X-Forwarded-Proto: https` from the proxy in front), `Strict-Transport-Security`.

A plain ASGI class rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware costs
measurable CPU per request, and the check-in path is benchmarked against raw Postgres.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger
from shared.web.errors import render_unexpected

log = get_logger(__name__)

REQUESTS = Counter("tenure_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "tenure_http_request_seconds",
    "HTTP latency",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


_MAX_CACHED = 2000
HSTS = "max-age=31536000; includeSubDomains"
HSTS_BYTES = HSTS.encode()


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, service: str, access_log: bool = True) -> None:
        self.app = app
        self.service = service
        self.access_log = access_log
        # the metric children per (method, route, status): `labels()` takes a lock and builds the
        # label tuple on every call; routes and statuses are few, so the lookups are kept here
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex[:16]
        path: str = scope["path"]
        tls = scope.get("scheme") == "https" or (_header(scope, b"x-forwarded-proto") or "").startswith("https")
        structlog.contextvars.bind_contextvars(request_id=request_id, service=self.service)
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                message["headers"] = _with_standard_headers(message.get("headers", ()), request_id, path, tls)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # raised past the routers' handlers (e.g. from a dependency)
            if state["started"]:
                raise
            await render_unexpected(Request(scope), exc)(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route_path = getattr(scope.get("route"), "path", "unmatched")
            key = (scope["method"], route_path, state["status"])
            counter = self._counters.get(key)
            if counter is None:
                counter = REQUESTS.labels(self.service, *key)
                if len(self._counters) < _MAX_CACHED:  # methods are the client's: keep the cache bounded
                    self._counters[key] = counter
            counter.inc()
            histogram = self._histograms.get(route_path)
            if histogram is None:
                histogram = LATENCY.labels(self.service, route_path)
                if len(self._histograms) < _MAX_CACHED:
                    self._histograms[route_path] = histogram
            histogram.observe(elapsed)
            if self.access_log:
                log.info("http", method=scope["method"], path=path, status=state["status"], ms=round(elapsed * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id")


def _with_standard_headers(raw: Any, request_id: str, path: str, tls: bool) -> list[tuple[bytes, bytes]]:
    """The response's raw header list with the request id and the security headers added.

    Raw (name, value) byte pairs rather than Starlette's MutableHeaders: on the check-in path
    the wrapper's lookups were ~6 % of a worker's CPU. Names are compared lower-cased, as ASGI
    servers and Starlette send them; a response's own x-request-id is replaced."""
    headers = [(k, v) for k, v in raw if k.lower() != b"x-request-id"]
    names = {k.lower() for k, _ in headers}
    headers.append((b"x-request-id", request_id.encode("latin-1")))
    if b"cache-control" not in names and path.startswith("/v1"):
        headers.append((b"cache-control", b"no-store"))
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    if b"x-frame-options" not in names:
        headers.append((b"x-frame-options", b"DENY"))
    if tls:
        headers.append((b"strict-transport-security", HSTS_BYTES))
    return headers


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")[:64]
    return None
