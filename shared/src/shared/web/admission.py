"""Admission control (pure ASGI): a bounded number of requests in flight per worker process.

Without it a worker offered more than it can serve accepted everything: each request became one
more task on the event loop, every request's latency grew with the queue, and the manager app at
400 req/s on 2 cores served ~140/s with a p99 of 165 s. With a bound, a request that arrives while
`max_in_flight` are being served (TENURE_MAX_IN_FLIGHT, per worker; 0 turns the bound off) is
answered 503 at once — `{"error": "overloaded", ...}` with `Retry-After` — before routing, auth or
any database work, so the admitted requests keep their latency and the excess costs only its HTTP
parsing. Health, readiness and metrics are never refused (a busy worker is alive, and a scraper
must see the overload).
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.errors import error_response, request_language

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_S = 1

REFUSED = Counter("tenure_http_overload_refused_total", "Requests answered 503 by admission control", ["service"])


class AdmissionMiddleware:
    """Counts requests from entry until the app returns (the response sent, or the request failed)."""

    def __init__(self, app: ASGIApp, *, service: str, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.refused = REFUSED.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_in_flight <= 0 or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self.refused.inc()
            await error_response(
                503,
                "overloaded",
                "the service is busy; retry in {retry_after_s} s",
                {"retry_after_s": RETRY_AFTER_S, "max_in_flight": self.max_in_flight},
                headers={"Retry-After": str(RETRY_AFTER_S)},
                language=request_language(scope),
            )(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
