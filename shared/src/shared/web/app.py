"""Build one service: lifespan (engine), error handlers, health, metrics, request logging."""
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from shared.db.engine import create_engine, create_sessionmaker
from shared.logging import configure_logging, get_logger
from shared.settings import Settings, get_settings
from shared.web.errors import error_response, install_error_handlers, render_unexpected

log = get_logger(__name__)

REQUESTS = Counter("tenure_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "tenure_http_request_seconds", "HTTP latency", ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def create_service_app(
    *,
    name: str,
    title: str,
    audience: str,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    description: str = "",
    access_log: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings, process=name)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        for hook in app.state.startup_hooks:
            await hook(app)
        log.info("service.started", version=app.version)
        yield
        for hook in app.state.shutdown_hooks:
            await hook(app)
        await engine.dispose()

    prod = settings.env == "prod"
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None if prod else "/docs",
        redoc_url=None if prod else "/redoc",
        openapi_url=None if prod else "/openapi.json",
    )
    app.state.settings = settings
    app.state.audience = audience
    app.state.service_name = name
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    install_error_handlers(app)

    @app.middleware("http")
    async def observe(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        structlog.contextvars.bind_contextvars(request_id=request_id, service=name)
        try:
            response: Response = await call_next(request)
        except Exception as exc:  # raised past the routers' handlers (e.g. from a dependency)
            response = render_unexpected(request, exc)
        elapsed = time.perf_counter() - started
        route = request.scope.get("route")
        route_path = getattr(route, "path", "unmatched")
        REQUESTS.labels(name, request.method, route_path, response.status_code).inc()
        LATENCY.labels(name, route_path).observe(elapsed)
        response.headers["x-request-id"] = request_id
        if request.url.path.startswith("/v1"):
            response.headers.setdefault("Cache-Control", "no-store")
        if access_log:
            log.info("http", method=request.method, path=request.url.path, status=response.status_code, ms=round(elapsed * 1000, 1))
        structlog.contextvars.unbind_contextvars("request_id")
        return response

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=["ops"], summary="Readiness: the database answers")
    async def readyz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready
            log.warning("readyz.db_down", error=type(exc).__name__)
            return error_response(503, "service_unavailable", "database unavailable")
        return JSONResponse({"status": "ready", "service": name})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
