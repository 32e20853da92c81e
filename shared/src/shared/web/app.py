"""Build one service: lifespan (engine), error handlers, health, metrics, request logging."""

from __future__ import annotations

import gc
import hmac
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared.db.engine import create_engine, create_sessionmaker, read_options
from shared.logging import configure_logging, get_logger
from shared.settings import Settings, get_settings
from shared.web import openapi_security
from shared.web.admission import AdmissionMiddleware
from shared.web.errors import error_response, install_error_handlers, request_language
from shared.web.limits import BodyLimitMiddleware
from shared.web.observe import ObserveMiddleware
from shared.web.replica import ReadYourWritesMiddleware, RecentWrites

GC_THRESHOLDS = (20_000, 20, 50)
"""Young-generation collections after every 20,000 container allocations instead of 700: a request
allocates a few hundred objects that die by reference count, so the default ran a collection every
few requests for nothing (worker CPU per check-in 1.62–1.71 → 1.41–1.52 ms, bench/request_cpu.py,
interleaved runs); the older generations keep their ratios, and the frozen start-up heap is never
scanned."""


def freeze_heap() -> None:
    """Move everything built so far (imports, the app, long-lived set-up) out of the collector's
    generations and collect the young one rarely (GC_THRESHOLDS), so collections stay short under
    load. Services call it once started; the load benches before each measured phase, where a full
    collection of the client's ~150k set-up objects paused it 76–127 ms and the burst that followed
    showed up as the server's p99."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


log = get_logger(__name__)


def create_service_app(
    *,
    name: str,
    title: str,
    audience: str,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    description: str = "",
    access_log: bool = True,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """`body_limits`: path → bytes, for the few routes that take more than settings.max_body_bytes."""
    settings = settings or get_settings()
    configure_logging(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings, process=name)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # Reads run without BEGIN/ROLLBACK: two round trips fewer per GET, same pool.
        app.state.read_sessionmaker = create_sessionmaker(read_options(engine))
        # ReadSession reads: the replica when DATABASE_READ_URL is set (shared.web.replica), else the same
        replica = None
        if settings.database_read_url:
            replica = create_engine(settings, process=f"{name}.replica", url=settings.database_read_url)
            app.state.replica_sessionmaker = create_sessionmaker(read_options(replica))
        else:
            app.state.replica_sessionmaker = app.state.read_sessionmaker
        for hook in app.state.startup_hooks:
            await hook(app)
        freeze_heap()
        log.info("service.started", version=app.version)
        yield
        for hook in app.state.shutdown_hooks:
            await hook(app)
        await engine.dispose()
        if replica is not None:
            await replica.dispose()

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
    app.state.default_language = settings.default_language  # of error details without Accept-Language
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    install_error_handlers(app)
    openapi_security.install(app)

    # the last added runs first: Observe (request id, metrics, headers) wraps admission's 503s and
    # the body limit's 413s too
    app.state.recent_writes = None
    if settings.database_read_url:
        app.state.recent_writes = RecentWrites(settings.jwt_secret, settings.read_your_writes_s)
        app.add_middleware(ReadYourWritesMiddleware, writes=app.state.recent_writes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, per_path=body_limits)
    app.add_middleware(AdmissionMiddleware, service=name, max_in_flight=settings.max_in_flight)
    app.add_middleware(ObserveMiddleware, service=name, access_log=access_log and settings.access_log)

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
            return error_response(
                503, "service_unavailable", "database unavailable", language=request_language(request)
            )
        return JSONResponse({"status": "ready", "service": name})

    # /metrics names every route and its traffic: in prod only a scraper holding TENURE_METRICS_TOKEN
    # (as a bearer token) reads it, and without a token configured it does not exist there.
    metrics_token = settings.metrics_token.encode() if settings.metrics_token else None

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if metrics_token is None and prod:
            return error_response(404, "not_found", "Not Found", {"no_route": True}, language=request_language(request))
        if metrics_token is not None:
            scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), metrics_token):
                return error_response(
                    401,
                    "unauthorized",
                    "a metrics token is required",
                    headers={"WWW-Authenticate": "Bearer"},
                    language=request_language(request),
                )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
