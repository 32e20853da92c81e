"""Shared bits for the alliance HTTP tests."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx

ERROR_KEYS = {"error", "detail", "context"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{secrets.token_hex(8)}"}


def with_key(headers: dict[str, str], k: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": k or f"k-{secrets.token_hex(8)}"}


def error(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    return body


def offer_body(**overrides: object) -> dict:
    now = datetime.now(UTC)
    body: dict[str, object] = {
        "title": "20 off a 100 meal",
        "kind": "voucher",
        "face_value_fen": 2000,
        "settlement_fen": 1500,
        "price_points": 100,
        "price_airtime_fen": 0,
        "stock_total": 10,
        "per_customer_limit": 1,
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_to": (now + timedelta(days=30)).isoformat(),
        "coupon_valid_days": 30,
    }
    body.update(overrides)
    return body
