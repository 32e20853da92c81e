"""Customer app API (port 8001): what the subscriber's mobile app calls."""

from __future__ import annotations

from fastapi import FastAPI

from customer_app import routers
from shared.auth.principals import Audience
from shared.notify.sms import DevSmsSender
from shared.settings import Settings
from shared.web.app import create_service_app
from shared.web.auth_routes import customer_auth_router
from shared.web.discovery import discover_routers


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        name="customer-app",
        title="Tenure customer app API",
        description="Account queries, business handling, offers, check-in, treasure hunt, coupons.",
        audience=Audience.CUSTOMER,
        settings=settings,
        routers=[*discover_routers(routers), customer_auth_router()],
    )
    app.state.sms_sender = DevSmsSender()
    return app
