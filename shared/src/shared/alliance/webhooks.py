"""Merchant webhooks through an outbox.

Business code calls `enqueue` inside its own transaction, so a delivery row exists exactly when
the redemption (or statement) does. Sending happens after commit, never inside a request's
transaction: an in-process background task (`deliver_soon`) tries right after the response, and
the job worker's scheduled `webhooks.deliver` task (shared.jobs, every minute) picks up everything
else; it is the only retry mechanism (the old standalone loop is gone).

Claiming is a short transaction (`FOR UPDATE SKIP LOCKED`, attempts + 1, a lease on
next_attempt_at), so two workers never send the same attempt and no row lock is held while we
wait on the network. Failures back off exponentially (10 s · 2^(n-1), capped at 1 h) and give up
after MAX_ATTEMPTS. Receivers check `Tenure-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>` and de-duplicate on `Tenure-Delivery`.

SSRF: a URL is accepted only when every address its host resolves to is public
(`shared.alliance.egress`), when it is set AND again right before each send; the send connects
to that checked address (TLS still verifies the certificate against the host name), so a name
that later resolves to a private address (DNS rebinding) is refused rather than followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.alliance.egress import BlockedDestination, Resolver, is_blocked, numeric_addresses, public_addresses
from shared.db.transactions import own_transaction
from shared.errors import NotFound
from shared.logging import get_logger
from shared.models import Merchant, WebhookDelivery

log = get_logger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_S = 10
MAX_BACKOFF_S = 3600
LEASE_S = 60
TIMEOUT_S = 5.0
SIGNATURE_HEADER = "Tenure-Signature"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_HOST_CHARS = re.compile(r"[a-z0-9.\-]+|[0-9a-f:.]+")  # names (punycode for IDN) or an IPv6 literal

_CLAIM = text(
    """
    UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => :lease)
     WHERE d.id IN (
        SELECT id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= now()
           AND (CAST(:merchant_id AS integer) IS NULL OR merchant_id = CAST(:merchant_id AS integer))
         ORDER BY id LIMIT :limit
         FOR UPDATE SKIP LOCKED)
    RETURNING d.id, d.merchant_id, d.event, d.payload, d.attempts, d.created_at
    """
)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked webhook URL: where to connect (a public address) and what to call it."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def validate_url(url: str, *, allow_local: bool) -> str:
    """Everything about a webhook URL that needs no lookup: https (plain http only to localhost and
    only with allow_local), no credentials, a plain host, and — for numeric hosts in any form the C
    library parses (`127.1`, `0x7f.0.0.1`, `[::ffff:127.0.0.1]`) — a public address.
    Raises BlockedDestination (422); names are resolved and checked by `check_url`.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise BlockedDestination("webhook url is not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or len(url) > 300:
        raise BlockedDestination("webhook url must be an absolute https URL without credentials")
    if not _HOST_CHARS.fullmatch(host):
        raise BlockedDestination("webhook host must be a plain DNS name (punycode for IDN) or an IP address")
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_local and host in LOCAL_HOSTS):
        raise BlockedDestination("webhook url must use https (http://localhost is allowed in development only)")
    numeric = numeric_addresses(host)
    if numeric is None:
        if host == "localhost" and not allow_local:
            raise BlockedDestination("webhook url may not point at this host")
        if "." not in host and host != "localhost":
            raise BlockedDestination("webhook url needs a fully qualified host name")
    elif any(is_blocked(ipaddress.ip_address(a), allow_loopback=allow_local) for a in numeric):
        raise BlockedDestination("webhook url may not point at a private, local or reserved address", host=host)
    return url


async def check_url(url: str, *, allow_local: bool, resolver: Resolver | None = None) -> Target:
    """`validate_url`, then resolve the host and check every address (BlockedDestination, 422)."""
    clean = validate_url(url, allow_local=allow_local)
    parts = urlsplit(clean)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await public_addresses(host, port, resolver=resolver, allow_loopback=allow_local)
    return Target(url=clean, host=host, port=port, addresses=tuple(addresses))


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance_s: int = 300, now: int | None = None) -> bool:
    """Receiver-side check (used by tests and handed to merchants as reference code)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        ts = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), header)


async def set_endpoint(session: AsyncSession, *, merchant_id: int, target: Target) -> str:
    """Set the merchant's webhook URL (a `check_url` result, resolved before any database work)
    and a fresh signing secret (returned once)."""
    secret = new_secret()
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant not found")
    merchant.webhook_url, merchant.webhook_secret = target.url, secret
    await session.flush()
    return secret


async def clear_endpoint(session: AsyncSession, *, merchant_id: int) -> None:
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant not found")
    merchant.webhook_url, merchant.webhook_secret = None, None
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.merchant_id == merchant_id, WebhookDelivery.status == "pending")
        .values(status="cancelled")
    )


async def enqueue(
    session: AsyncSession, *, merchant: Merchant, event: str, payload: dict[str, Any]
) -> WebhookDelivery | None:
    """Outbox row in the caller's transaction; nothing when the merchant has no webhook."""
    if not merchant.webhook_url:
        return None
    delivery = WebhookDelivery(
        merchant_id=merchant.id, event=event, payload=payload, status="pending", next_attempt_at=func.now()
    )
    session.add(delivery)
    await session.flush()
    return delivery


def backoff_s(attempts: int) -> int:
    return min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(0, attempts - 1))


def _body(delivery_id: int, event: str, payload: dict[str, Any], created_at: Any) -> bytes:
    doc = {"id": delivery_id, "event": event, "created_at": created_at.isoformat(), "data": payload}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def pinned_request(target: Target) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """URL with the checked address as host, the Host header and the TLS server name: the socket
    goes where the check said, the certificate is still verified against the name."""
    url = httpx.URL(target.url)
    extensions: dict[str, Any] = {"sni_hostname": target.host} if url.scheme == "https" else {}
    return url.copy_with(host=target.addresses[0]), {"Host": url.netloc.decode("ascii")}, extensions


async def _send(
    client: httpx.AsyncClient, target: Target, secret: str, delivery_id: int, event: str, body: bytes
) -> str | None:
    """None on a 2xx; otherwise a short error text."""
    url, host_header, extensions = pinned_request(target)
    headers = {
        **host_header,
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        "Tenure-Event": event,
        "Tenure-Delivery": str(delivery_id),
    }
    try:
        resp = await client.post(url, content=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= resp.status_code < 300:
        return None
    return f"HTTP {resp.status_code}"


async def deliver_due(
    sm: async_sessionmaker[AsyncSession],
    *,
    merchant_id: int | None = None,
    limit: int = 50,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
    allow_local: bool = False,
) -> dict[str, int]:
    """Send every due delivery once (optionally one merchant's); returns counts by outcome.

    Each URL is checked again (resolved, every address public) right before its send; a refusal
    counts as a failed attempt with the reason in `last_error`.
    """
    async with own_transaction(sm) as s:
        claimed = (await s.execute(_CLAIM, {"lease": LEASE_S, "merchant_id": merchant_id, "limit": limit})).all()
        targets = {
            m.id: (m.webhook_url, m.webhook_secret)
            for m in (await s.scalars(select(Merchant).where(Merchant.id.in_({r.merchant_id for r in claimed})))).all()
        }
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    if not claimed:
        return counts
    checked: dict[str, Target | str] = {}  # url → target, or why it was refused (this round only)
    # no keep-alive: a pooled connection to one merchant's address must never carry another's request
    async with httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT_S, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
    ) as client:
        for row in claimed:
            url, secret = targets.get(row.merchant_id, (None, None))
            if not url or not secret:
                error: str | None = "no webhook configured"
            else:
                if url not in checked:
                    try:
                        checked[url] = await check_url(url, allow_local=allow_local, resolver=resolver)
                    except BlockedDestination as exc:
                        checked[url] = f"refused: {exc.message}"
                target = checked[url]
                if isinstance(target, str):
                    error = target
                else:
                    error = await _send(
                        client, target, secret, row.id, row.event, _body(row.id, row.event, row.payload, row.created_at)
                    )
            async with own_transaction(sm) as s:
                if error is None:
                    values: dict[str, Any] = {"status": "delivered", "last_error": None}
                    counts["delivered"] += 1
                elif row.attempts >= MAX_ATTEMPTS or not url:
                    values = {"status": "failed", "last_error": error}
                    counts["failed"] += 1
                else:
                    values = {
                        "last_error": error,
                        "next_attempt_at": func.now() + timedelta(seconds=backoff_s(row.attempts)),
                    }
                    counts["retry"] += 1
                await s.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(**values))
            if error is not None:
                log.warning(
                    "alliance.webhook_failed",
                    delivery_id=row.id,
                    merchant_id=row.merchant_id,
                    attempt=row.attempts,
                    error=error,
                )
    return counts


async def deliver_soon(
    sm: async_sessionmaker[AsyncSession],
    *,
    merchant_id: int,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
    allow_local: bool = False,
) -> None:
    """Background task run after the response: one immediate try; the worker does the retries."""
    try:
        await deliver_due(
            sm, merchant_id=merchant_id, limit=10, transport=transport, resolver=resolver, allow_local=allow_local
        )
    except Exception as exc:  # noqa: BLE001  a failed notification must never surface to the till
        log.warning("alliance.webhook_background_failed", merchant_id=merchant_id, error=type(exc).__name__)
