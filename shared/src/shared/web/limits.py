"""Pure ASGI middleware: a request body is at most `max_body_bytes` (TENURE_MAX_BODY_BYTES, 1 MiB).

Without it a 50 MB JSON body to an unauthenticated route was read whole into memory (and a padded
body on a ledger write was processed). A declared Content-Length over the limit is answered 413 at
once, before the app runs, so nothing is read and nothing is written; a chunked body is counted as
it streams and cut at the limit (413 from the read that crossed it). A route that takes large uploads
(the back-office CSV import) gets its own, larger limit by exact path.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.errors import error_response, request_language


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body crosses the limit; FastAPI re-raises HTTPExceptions
    from body parsing, and the shared handler renders it in the error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="the request body is larger than {limit_bytes} bytes")
        self.context = {"limit_bytes": limit}


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes) if self.per_path else self.max_bytes
        declared = _content_length(scope)
        if declared is not None:
            if declared < 0:
                await error_response(
                    400, "bad_request", "Content-Length is not a number", language=request_language(scope)
                )(scope, receive, send)
            elif declared > limit:
                too_large = BodyTooLarge(limit)
                await error_response(
                    413,
                    "payload_too_large",
                    str(too_large.detail),
                    too_large.context,
                    headers={"Connection": "close"},
                    language=request_language(scope),
                )(scope, receive, send)
            else:  # the server delivers no more than Content-Length: nothing to count
                await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length, -1 when it is not a number, None when there is none (chunked or no body)."""
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            return int(value) if value.isdigit() else -1
    return None
