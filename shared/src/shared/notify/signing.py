"""HMAC signatures for messages between Tenure and gateways: `t=<unix>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>` (the alliance webhooks use the same scheme), checked in constant time and within
a tolerance so a captured request cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, *, tolerance_s: int = 300, now: int | None = None) -> bool:
    """True when `header` signs exactly `body` with `secret` and its timestamp is fresh."""
    if not header:
        return False
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        ts = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else int(time.time())) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), header.strip())
