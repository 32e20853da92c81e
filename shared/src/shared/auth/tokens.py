"""Signed JWTs (joserfc): HS256 pinned, issuer, per-service audience, expiry with 30 s leeway.

A worker keeps the principals of the last few thousand tokens it verified (`_verified`): the
same signed string under the same key, issuer and audience verifies the same way every time,
so a repeat request only re-checks expiry, against the clock, on every use. Revocation is not
cached: staff and merchant tokens are still checked against their account on every request
(shared.web.deps). A token seen for the first time whose header is exactly the one this module
issues has its HS256 signature checked here (`_signed_claims`: one HMAC, compared in constant
time on its canonical encoding) instead of through joserfc's generic JWS path; anything else goes
through joserfc, and the claims always through joserfc's registry. Verification was ~50 us per
request, 7 % of a customer-app worker's CPU at the check-in peak (py-spy), where every token is
new (a customer checks in once a day).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from shared.auth.principals import Principal
from shared.errors import Unauthorized
from shared.settings import Settings

ALGORITHM = "HS256"
LEEWAY_S = 30
VERIFIED_CACHE_SIZE = 4096  # per worker; one entry is a token string and its Principal
_HEADER = {"alg": ALGORITHM, "typ": "JWT"}


@lru_cache(maxsize=8)
def _key_for(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def _key(settings: Settings) -> OctKey:
    """The signing key, imported once per secret (decoding runs on every request)."""
    return _key_for(settings.jwt_secret)


@lru_cache(maxsize=32)
def _registry(issuer: str, audience: str) -> jwt.JWTClaimsRegistry:
    """Claim rules per (issuer, audience); validate() keeps no state, so one instance serves all."""
    return jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )


def issue_access_token(settings: Settings, principal: Principal, *, ttl_s: int | None = None) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": principal.audience,
        "sub": principal.subject,
        "role": principal.role,
        "iat": now,
        "exp": now + (ttl_s if ttl_s is not None else settings.access_ttl_s),
        "jti": secrets.token_urlsafe(12),
    }
    if principal.org_unit_id is not None:
        claims["org"] = principal.org_unit_id
    if principal.is_versioned:
        claims["ver"] = principal.token_version
    return jwt.encode(_HEADER, claims, _key(settings), algorithms=[ALGORITHM])


class _Verified:
    """Bounded LRU: (secret, issuer, audience, token) -> (Principal, exp)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str, str, str], tuple[Principal, int | float]] = OrderedDict()

    def get(self, key: tuple[str, str, str, str], now: float) -> Principal | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        principal, exp = hit
        if exp <= now - LEEWAY_S:  # joserfc's expiry rule
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return principal

    def put(self, key: tuple[str, str, str, str], principal: Principal, exp: int | float) -> None:
        self._items[key] = (principal, exp)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


_verified = _Verified(VERIFIED_CACHE_SIZE)


def decode_access_token(settings: Settings, token: str, *, audience: str) -> Principal:
    """Raises Unauthorized for any bad signature, algorithm, issuer, audience or expiry."""
    key = (settings.jwt_secret, settings.jwt_issuer, audience, token)
    cached = _verified.get(key, time.time())
    if cached is not None:
        return cached
    principal = _verify(settings, token, audience=audience)
    _verified.put(key, principal, principal.claims["exp"])  # the NumericDate as validated
    return principal


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# the header segment of every token issue_access_token signs, taken from joserfc itself
HEADER_SEGMENT = jwt.encode(_HEADER, {}, OctKey.import_key(b"x" * 32)).split(".")[0]


def _signed_claims(settings: Settings, token: str) -> dict[str, Any]:
    """The token's claims if its signature is good; ValueError or JoseError otherwise."""
    header, _, rest = token.partition(".")
    payload, dot, signature = rest.partition(".")
    if header != HEADER_SEGMENT or not dot or "." in signature:
        return dict(jwt.decode(token, _key(settings), algorithms=[ALGORITHM]).claims)
    mac = hmac.new(_key(settings).raw_value, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(_b64url(mac), signature):
        raise ValueError("bad signature")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except binascii.Error as exc:
        raise ValueError("bad payload") from exc
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    return claims


def _verify(settings: Settings, token: str, *, audience: str) -> Principal:
    try:
        claims = _signed_claims(settings, token)
        _registry(settings.jwt_issuer, audience).validate(claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise Unauthorized("invalid or expired token") from exc
    kind, _, raw_id = str(claims["sub"]).partition(":")
    version = claims.get("ver", 0)
    if not raw_id.isdigit() or "role" not in claims or type(version) is not int:
        raise Unauthorized("invalid or expired token")
    return Principal(
        kind=kind,
        id=int(raw_id),
        role=str(claims["role"]),
        audience=audience,
        org_unit_id=claims.get("org"),
        claims=dict(claims),
        token_version=version,
    )
