"""HTTP idempotency: the first response to (principal, Idempotency-Key) is stored and replayed.

The record is claimed at the start of the request's own write transaction. A concurrent
duplicate blocks on the primary key until the first commits, then replays the stored body byte
for byte with `Idempotent-Replayed: true`. If the first request fails, its claim rolls back with
it and a retry runs afresh. The same key with a different body is refused (409).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principals import Principal
from shared.errors import IdempotencyKeyReused

_CLAIM = text(
    """
    INSERT INTO idempotency_records (principal, key, request_hash, status_code, response_body)
    VALUES (:principal, :key, :hash, 0, '')
    ON CONFLICT (principal, key) DO NOTHING
    RETURNING 1
    """
)
_READ = text(
    "SELECT request_hash, status_code, response_body FROM idempotency_records WHERE principal = :principal AND key = :key"
)
_STORE = text(
    "UPDATE idempotency_records SET status_code = :status, response_body = :body WHERE principal = :principal AND key = :key"
)

IdempotencyKey = Header(
    ...,
    alias="Idempotency-Key",
    min_length=8,
    max_length=100,
    pattern=r"^[A-Za-z0-9_.:\-]+$",
    description="Client-chosen unique key; a retry with the same key replays the first result.",
)


def request_hash(payload: Any) -> str:
    raw = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _json(status: int, body: str, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)


async def run_once(
    session: AsyncSession,
    *,
    principal: Principal | str,
    key: str,
    payload: Any,
    handler: Callable[[], Awaitable[Any]],
    status_code: int = 200,
) -> Response:
    """Run `handler` once per (principal, key) and return its JSON body (stored for replays)."""
    who = principal.subject if isinstance(principal, Principal) else principal
    digest = request_hash(payload)
    claimed = await session.scalar(_CLAIM, {"principal": who, "key": key, "hash": digest})
    if claimed is None:
        row = (await session.execute(_READ, {"principal": who, "key": key})).one()
        if row.request_hash != digest:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request", key=key)
        return _json(row.status_code, row.response_body, replayed=True)
    result = await handler()
    body = json.dumps(jsonable_encoder(result), ensure_ascii=False, separators=(",", ":"))
    await session.execute(_STORE, {"status": status_code, "body": body, "principal": who, "key": key})
    return _json(status_code, body, replayed=False)
