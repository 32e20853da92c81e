"""Outbound channel adapters (SMS gateway, outbound-call platform) behind one interface.

Campaign sends are queued as touches (outcome `queued`) in the launch transaction and delivered
afterwards by `shared.campaigns.service.dispatch_outbound`, never from inside a transaction.
`HttpGateway` posts batches with httpx (bounded timeout, no redirects, response validated);
`DevGateway` sends nothing and records what it would have sent (log with masked phones, plus an
in-memory outbox the tests and the demo read).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import BaseModel, ValidationError

from shared.logging import get_logger
from shared.masking import mask_phone

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    touch_id: int
    customer_id: int
    phone: str
    channel: str  # sms / outbound_call
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    touch_id: int
    ok: bool
    provider_ref: str | None = None
    error: str | None = None


class OutboundGateway(Protocol):
    async def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        """One result per message, in any order. Must not raise for a refused message."""
        ...


class _GatewayItem(BaseModel):
    id: int
    accepted: bool
    ref: str | None = None
    error: str | None = None


class _GatewayReply(BaseModel):
    results: list[_GatewayItem]


class HttpGateway:
    """POST {base_url}/{sms|calls}/batch with a bearer token; JSON {"messages": [...]} → {"results": [...]}.

    Any transport error, non-2xx status or malformed reply fails the whole batch (the touches are
    marked `failed`, nothing is retried automatically: an SMS sent twice is worse than one missed).
    """

    def __init__(
        self, base_url: str, token: str, *, timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            follow_redirects=False,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
        )

    async def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        if not messages:
            return []
        path = "/calls/batch" if messages[0].channel == "outbound_call" else "/sms/batch"
        body = {"messages": [{"id": m.touch_id, "to": m.phone, "text": m.text} for m in messages]}
        try:
            resp = await self._client.post(path, json=body)
            resp.raise_for_status()
            reply = _GatewayReply.model_validate(resp.json())
        except (httpx.HTTPError, ValueError, ValidationError) as exc:
            log.warning("outbound.batch_failed", path=path, error=type(exc).__name__, n=len(messages))
            return [SendResult(m.touch_id, False, error=f"gateway: {type(exc).__name__}") for m in messages]
        known = {m.touch_id for m in messages}
        by_id = {i.id: i for i in reply.results if i.id in known}
        return [
            SendResult(
                m.touch_id,
                bool(by_id.get(m.touch_id) and by_id[m.touch_id].accepted),
                by_id[m.touch_id].ref if m.touch_id in by_id else None,
                None if m.touch_id in by_id else "no result from gateway",
            )
            for m in messages
        ]

    async def aclose(self) -> None:
        await self._client.aclose()


class DevGateway:
    """Development adapter: records what it would send and reports success."""

    def __init__(self) -> None:
        self.outbox: deque[OutboundMessage] = deque(maxlen=10_000)

    async def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        for m in messages:
            self.outbox.append(m)
            log.info("outbound.dev_send", channel=m.channel, to=mask_phone(m.phone), touch_id=m.touch_id, text=m.text)
        return [SendResult(m.touch_id, True, provider_ref=f"dev-{m.touch_id}") for m in messages]


_default = DevGateway()


def default_gateway() -> OutboundGateway:
    """The process-wide gateway: the dev adapter unless a service installs a real one."""
    return _default
