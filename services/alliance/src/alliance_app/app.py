"""Merchant alliance API (port 8003): machine-to-machine, OAuth2 client credentials."""

from __future__ import annotations

from fastapi import FastAPI

from alliance_app import routers
from shared.auth.principals import Audience
from shared.settings import Settings
from shared.web.app import create_service_app
from shared.web.auth_routes import merchant_token_router
from shared.web.discovery import discover_routers


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="alliance",
        title="Tenure merchant alliance API",
        description="Merchant onboarding, offers, till redemption, gift packs, settlement.",
        audience=Audience.ALLIANCE,
        settings=settings,
        routers=[merchant_token_router(), *discover_routers(routers)],
    )
