"""Opaque keyset cursors: base64url of a small JSON document, validated on the way back in.

A cursor is a position, never an offset, so pages stay cheap and stable under inserts. A cursor
made for another sort (or garbage) is refused with 422 rather than silently restarting.
"""
from __future__ import annotations

import base64
import json
from typing import Any

from shared.errors import Unprocessable


def encode(kind: str, key: list[Any]) -> str:
    raw = json.dumps({"k": kind, "v": key}, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, kind: str) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("k") != kind or not isinstance(doc.get("v"), list):
            raise ValueError
        return doc["v"]
    except (ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unprocessable("invalid cursor", cursor=cursor[:40]) from exc
