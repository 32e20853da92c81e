"""How this service reaches merchant webhooks (not a router module)."""

from __future__ import annotations

from typing import Any

from fastapi import Request


def webhook_egress(request: Request) -> dict[str, Any]:
    """Keyword arguments for `shared.alliance.webhooks`: the development exception from Settings,
    and the transport and resolver tests put on `app.state` (the real network otherwise)."""
    state = request.app.state
    return {
        "allow_local": state.settings.webhooks_local_allowed,
        "resolver": getattr(state, "webhook_resolver", None),
        "transport": getattr(state, "webhook_transport", None),
    }
