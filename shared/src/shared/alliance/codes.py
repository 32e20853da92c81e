"""Coupon codes at rest: an HMAC to find them, an encryption to show them to their owner.

The plain code never reaches the database. The till's lookup is by `lookup_hash` (HMAC-SHA256
under a key derived from `TENURE_COUPON_CODE_KEY`), so a copy of the table (a backup, a replica,
an analyst's extract, an injection) holds no redeemable code and no way to test guesses offline.
The customer still sees their own code and QR again (`GET /v1/coupons`): it is stored sealed
with AES-256-GCM under a second derived key, and only the owner's read unseals it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_AAD = b"tenure.coupon-code.v1"
NONCE_BYTES = 12


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[bytes, bytes]:
    """(lookup key, sealing key), derived apart so neither reveals the other."""
    root = secret.encode()
    return (
        hmac.new(root, b"tenure.coupon.lookup.v1", hashlib.sha256).digest(),
        hmac.new(root, b"tenure.coupon.seal.v1", hashlib.sha256).digest(),
    )


@lru_cache(maxsize=8)
def _derived(secret: str, label: bytes) -> bytes:
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def derived_key(label: bytes, *, secret: str | None = None) -> bytes:
    """A key for another signed code (a hunt spot's QR), derived from the same secret under its own label."""
    return _derived(secret or _secret(), label)


def _secret() -> str:
    # Read when used: the key is process-wide, and coupons are issued deep inside hunts and
    # campaigns where threading it through every call would only add noise.
    from shared.settings import get_settings

    return get_settings().coupon_code_key


def lookup_hash(code: str, *, secret: str | None = None) -> str:
    """Hex HMAC of a normalised code: what the till's lookup compares."""
    return hmac.new(_keys(secret or _secret())[0], code.encode(), hashlib.sha256).hexdigest()


def seal(code: str, *, secret: str | None = None) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_keys(secret or _secret())[1]).encrypt(nonce, code.encode(), _AAD)


def unseal(sealed: bytes, *, secret: str | None = None) -> str:
    blob = bytes(sealed)
    return AESGCM(_keys(secret or _secret())[1]).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _AAD).decode()
