"""Signed QR payloads for merchant till spots (寻宝点二维码).

A till spot's QR carries `TENURE-SPOT:` and a base64url token of the hunt id, the spot id, an
expiry (the hunt's end, epoch seconds) and 16 bytes of HMAC-SHA256 over them, under a key derived
from `TENURE_COUPON_CODE_KEY` with its own label (`shared.alliance.codes.derived_key`). So a code
can't be guessed or edited into another spot or hunt, it stops at the hunt's end, and nothing
needs storing: the merchant's `GET /v1/me/spots` signs it again each time (the same bytes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.alliance.codes import derived_key

PREFIX = "TENURE-SPOT:"
_LABEL = b"tenure.hunt-spot.v1"
_BODY = struct.Struct(">III")  # hunt id, spot id, expiry (epoch seconds)
_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class SpotToken:
    hunt_id: int
    spot_id: int
    expires_at: datetime


def _mac(body: bytes, secret: str | None) -> bytes:
    return hmac.new(derived_key(_LABEL, secret=secret), body, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(*, hunt_id: int, spot_id: int, expires_at: datetime, secret: str | None = None) -> str:
    """The QR payload of a till spot, valid until `expires_at`."""
    body = _BODY.pack(hunt_id, spot_id, int(expires_at.timestamp()))
    return PREFIX + base64.urlsafe_b64encode(body + _mac(body, secret)).rstrip(b"=").decode()


def is_signed(code: str) -> bool:
    return code.startswith(PREFIX)


def verify(code: str, *, secret: str | None = None) -> SpotToken | None:
    """The token a genuine payload carries, or None for anything malformed or forged (no expiry check)."""
    if not is_signed(code):
        return None
    raw = code[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return None
    # one spelling per code: the last symbol's unused bits must be zero
    if len(blob) != _BODY.size + _MAC_BYTES or base64.urlsafe_b64encode(blob).rstrip(b"=").decode() != raw:
        return None
    body, mac = blob[: _BODY.size], blob[_BODY.size :]
    if not hmac.compare_digest(mac, _mac(body, secret)):
        return None
    hunt_id, spot_id, expires = _BODY.unpack(body)
    return SpotToken(hunt_id, spot_id, datetime.fromtimestamp(expires, UTC))
