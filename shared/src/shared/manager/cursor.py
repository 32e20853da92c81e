"""Opaque keyset cursors, signed: `<base64url JSON values>.<base64url HMAC>`.

A cursor is a position, never an offset, so pages stay cheap and stable under inserts. The MAC
(HMAC-SHA256 over the kind and the values, 96 bits kept) uses a key derived from the server
secret, so a client can neither forge a position nor edit one; a cursor made for another list or
sort does not verify either. Every decoded value is then checked against the caller's declared
shape before it reaches SQL. Anything else is 400 `invalid_cursor` (the client starts over
without a cursor). This is the one cursor implementation: every paged list uses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from shared.errors import BadRequest

MAC_BYTES = 12
MAX_LENGTH = 1000
_INT64 = 2**63

Parser = Callable[[Any], Any]


class InvalidCursor(BadRequest):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("invalid cursor: start again without one")


def INT(value: Any) -> int:  # noqa: N802  (shape names read like types)
    if type(value) is not int or not -_INT64 <= value < _INT64:
        raise ValueError("not a 64-bit integer")
    return value


def DATE(value: Any) -> date:  # noqa: N802
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("not a date")
    return date.fromisoformat(value)


def DATETIME(value: Any) -> datetime:  # noqa: N802
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return parsed


def TEXT(value: Any) -> str:  # noqa: N802
    if not isinstance(value, str) or len(value) > 60:
        raise ValueError("not a short text")
    return value


@lru_cache(maxsize=4)
def _derived(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"tenure.cursor.v1", hashlib.sha256).digest()


def _key() -> bytes:
    # Read when used, not at import: settings are process-wide, and passing the key through every
    # paged query would only add noise.
    from shared.settings import get_settings

    return _derived(get_settings().jwt_secret)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(kind: str, payload: bytes) -> bytes:
    return hmac.new(_key(), kind.encode() + b"\0" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def encode(kind: str, values: Sequence[Any]) -> str:
    """Sign a position (JSON-serialisable values: ints, ISO dates and timestamps, short texts)."""
    payload = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return f"{_b64(payload)}.{_b64(_mac(kind, payload))}"


def decode(cursor: str | None, kind: str, shape: Sequence[Parser]) -> list[Any] | None:
    """The position in `cursor`, each value parsed by `shape`; None without a cursor.

    Raises InvalidCursor (400) for anything that is not a cursor this server made for `kind`.
    """
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_LENGTH:
            raise ValueError("too long")
        body, _, mac = cursor.partition(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(kind, payload)):
            raise ValueError("bad signature")
        values = json.loads(payload)
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError("wrong shape")
        return [parse(v) for parse, v in zip(shape, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
