"""Reads on a streaming replica, with read-your-writes for whoever just wrote.

With DATABASE_READ_URL set, `ReadSession` reads go to the replica, which may lag the primary by
a few milliseconds (more under load). A caller who has just written must see that write, so
for `settings.read_your_writes_s` after a successful write (a 2xx/3xx answer to POST, PUT,
PATCH or DELETE) that caller's reads stay on the primary. "That caller" is recognised two ways:

- in this process, by a hash of the request's Authorization header (API clients, the apps);
- across processes and instances, by a signed cookie `tenure_rw` holding the window's end
  (browsers: the console), HMAC-SHA256 with the JWT secret so a client can only shorten it.

Routes that read right after their own write in the same request use their WriteSession (the
primary) anyway. Revocation checks and everything else outside ReadSession stay on the primary.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "tenure_rw"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_MARKS = 100_000  # a process forgets the oldest marks beyond this many callers


def _caller_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == b"authorization":
            return hashlib.sha256(value).digest()
    return None


def _sign(secret: bytes, until: int) -> str:
    mac = hmac.new(secret, str(until).encode(), hashlib.sha256).hexdigest()[:32]
    return f"{until}.{mac}"


def _cookie_valid(secret: bytes, value: str, now: float) -> bool:
    until, _, _mac = value.partition(".")
    if not until.isdigit() or int(until) < now:
        return False
    return hmac.compare_digest(_sign(secret, int(until)), value)


class RecentWrites:
    """Who wrote in the last `window_s` seconds (this process's marks, plus the signed cookie)."""

    def __init__(self, secret: str, window_s: float) -> None:
        self.secret = secret.encode()
        self.window_s = window_s
        self._marks: dict[bytes, float] = {}

    def mark(self, key: bytes, now: float) -> None:
        if len(self._marks) >= _MAX_MARKS:
            self._marks = {k: t for k, t in self._marks.items() if t > now}
        self._marks[key] = now + self.window_s

    def wrote_recently(self, request: Request) -> bool:
        now = time.time()
        cookie = request.cookies.get(COOKIE)
        if cookie and _cookie_valid(self.secret, cookie, now):
            return True
        key = _caller_key(request.scope["headers"])
        return key is not None and self._marks.get(key, 0.0) > now

    def cookie_header(self, now: float) -> bytes:
        until = int(now + self.window_s) + 1
        value = _sign(self.secret, until)
        return f"{COOKIE}={value}; Max-Age={int(self.window_s) + 1}; Path=/; HttpOnly; SameSite=Lax".encode()


class ReadYourWritesMiddleware:
    """Marks the caller after a successful write (pure ASGI: no per-request task or body copy)."""

    def __init__(self, app: ASGIApp, *, writes: RecentWrites) -> None:
        self.app = app
        self.writes = writes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE or self.writes.window_s <= 0:
            await self.app(scope, receive, send)
            return

        async def send_marking(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                now = time.time()
                key = _caller_key(scope["headers"])
                if key is not None:
                    self.writes.mark(key, now)
                message["headers"] = [*message.get("headers", []), (b"set-cookie", self.writes.cookie_header(now))]
            await send(message)

        await self.app(scope, receive, send_marking)
