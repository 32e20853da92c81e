"""The functions other domains own that the manager app calls, resolved at call time.

`record_touch` / `check_contact_pressure` belong to the retention engine (`shared.touches`),
`place_order` to the customer app (`shared.business.orders`), `mark_cared` to the four-high
engine. Importing at call time keeps `shared.manager` importable while those modules evolve.
"""
from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

_MARK_CARED_CANDIDATES = ("shared.engine.fourhigh",)


def _attr(module: str, name: str) -> Callable[..., Awaitable[Any]]:
    return getattr(importlib.import_module(module), name)


def record_touch() -> Callable[..., Awaitable[Any]]:
    return _attr("shared.touches.service", "record_touch")


def check_contact_pressure() -> Callable[..., Awaitable[Any]]:
    return _attr("shared.touches.service", "check_contact_pressure")


def place_order() -> Callable[..., Awaitable[Any]]:
    return _attr("shared.business.orders", "place_order")


def mark_cared() -> Callable[..., Awaitable[Any]] | None:
    """The engine's four-high `mark_cared(session, customer_id, kind)`, or None if not built."""
    for module in _MARK_CARED_CANDIDATES:
        try:
            fn = getattr(importlib.import_module(module), "mark_cared", None)
        except ImportError:
            continue
        if fn is not None:
            return fn
    return None
