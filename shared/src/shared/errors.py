"""Application errors. No HTTP imports: each service maps `status_code` to its response.

Every 4xx/5xx body has one shape: {"error": <code>, "detail": <message>, "context": {...}}.
The message is an English literal with named placeholders filled from the context
(`Conflict("at most {limit} a day", limit=n)`): it is the key of its translations in
`shared.i18n` (a test holds every raise site to a zh-CN entry), and `detail(language)` renders it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shared.i18n import EN, translate


class AppError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **context: Any) -> None:
        self.template = message
        self.context = context
        self.message = translate(message, EN, context)  # the English text, for logs and str()
        super().__init__(self.message)

    def detail(self, language: str) -> str:
        return translate(self.template, language, self.context)

    def body(self, language: str = EN) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail(language), "context": self.context}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class InsufficientFunds(AppError):
    status_code = 402
    code = "insufficient_funds"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class RequestInFlight(Conflict):
    code = "request_in_flight"


class Gone(AppError):
    status_code = 410
    code = "gone"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
