"""One JSON error shape for every 4xx/5xx: {"error", "detail", "context"}.

`detail` follows the request's Accept-Language (zh-CN or en; without one, the service's
`default_language`, zh-CN unless TENURE_DEFAULT_LANGUAGE says otherwise) and the response says
which in Content-Language; `error` and `context` are the same in every language.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import Scope

from shared.errors import AppError
from shared.i18n import ZH, negotiate, translate
from shared.logging import get_logger

log = get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def request_language(conn: HTTPConnection | Scope) -> str:
    """The language of this request's error details: its Accept-Language, else the app's default."""
    scope = conn.scope if isinstance(conn, HTTPConnection) else conn
    default = getattr(getattr(scope.get("app"), "state", None), "default_language", ZH)
    return negotiate(Headers(scope=scope).get("accept-language"), default)


def error_response(
    status: int,
    code: str,
    detail: str,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    *,
    language: str = ZH,
) -> JSONResponse:
    """`detail` is an English message (a catalogue key), rendered in `language` with `context`'s values;
    pass `language=request_language(request)` (the default is only for callers without a request)."""
    context = context or {}
    return JSONResponse(
        status_code=status,
        content={"error": code, "detail": translate(detail, language, context), "context": jsonable_encoder(context)},
        headers={**(headers or {}), "Content-Language": language, "Vary": "Accept-Language"},
    )


def _validation_context(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for e in exc.errors():
        errors.append({"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))})
    return {"errors": errors}


def _is_unavailable(exc: BaseException) -> bool:
    """Database down, connection lost or pool exhausted, or the driver lost track of its connection
    (asyncpg's InternalClientError "cannot switch to state …; another operation is in progress" and its
    raw InterfaceError "connection is closed" from a connection set-up, both seen while backends were
    being terminated; shared.db.faults discards such a connection): the caller should retry later."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            (
                PoolTimeout,
                OSError,
                ConnectionError,
                InterfaceError,
                asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ),
        ):
            return True
        if isinstance(seen, OperationalError) and not isinstance(seen, IntegrityError):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is exc:
            break
    return False


def _pg_code(exc: BaseException) -> str | None:
    if isinstance(exc, asyncpg.PostgresError):  # raised by a statement run on the driver itself
        return exc.sqlstate
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = None
        if exc.status_code == 429:
            headers = {"Retry-After": str(exc.context.get("retry_after_s", 60))}
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(
            exc.status_code, exc.code, exc.template, exc.context, headers, language=request_language(request)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            422,
            "validation_error",
            "the request is not valid",
            _validation_context(exc),
            language=request_language(request),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        context = getattr(exc, "context", None)
        if exc.status_code == 404 and context is None:
            # the router's own 404: no such route (the console reads it as "not built yet"),
            # told apart from a route's NotFound without comparing the translated detail
            context = {"no_route": True}
        return error_response(
            exc.status_code,
            code,
            str(exc.detail),
            context,
            headers=getattr(exc, "headers", None),
            language=request_language(request),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return render_unexpected(request, exc)


def render_unexpected(request: Request, exc: BaseException) -> JSONResponse:
    """Map an exception no handler claimed: database states to 409/503, anything else to a bare 500."""
    language = request_language(request)
    if isinstance(exc, (DBAPIError, asyncpg.PostgresError)):
        state = _pg_code(exc)
        if state in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock timeout
            return error_response(
                409, "retry", "concurrent update; retry with the same idempotency key", language=language
            )
        if state in ("53300", "53400"):  # too many connections / configuration limit exceeded
            log.warning("db.unavailable", path=request.url.path, sqlstate=state)
            return error_response(
                503, "service_unavailable", "temporarily unavailable", headers={"Retry-After": "2"}, language=language
            )
        if state == "57014":  # statement timeout
            return error_response(
                503, "timeout", "the request took too long", headers={"Retry-After": "1"}, language=language
            )
        if state in ("23505", "23514", "23503"):
            log.warning("db.integrity", path=request.url.path, sqlstate=state)
            return error_response(409, "conflict", "the change conflicts with existing data", language=language)
        if state is not None and state.startswith("22"):
            # a value the database cannot take (number out of range, NUL byte in text, a parameter
            # asyncpg refused to encode: its DataError carries 22000): request values that passed
            # the schema, so the caller's 422; the statement failed, nothing is half-written
            log.warning("db.invalid_value", path=request.url.path, sqlstate=state)
            return error_response(
                422, "invalid_value", "a value in the request is out of range or not valid", language=language
            )
    if _is_unavailable(exc):
        log.warning("db.unavailable", path=request.url.path, error=type(exc).__name__)
        return error_response(
            503, "service_unavailable", "temporarily unavailable", headers={"Retry-After": "2"}, language=language
        )
    log.error("unhandled", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return error_response(500, "internal_error", "internal error", language=language)
