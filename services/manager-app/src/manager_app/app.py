"""Manager app API (port 8002): account managers, branch heads and hall staff."""

from __future__ import annotations

from fastapi import FastAPI

from manager_app import routers
from manager_app.auth import CurrentStaff
from shared.auth.principals import Audience
from shared.settings import Settings
from shared.web.app import create_service_app
from shared.web.auth_routes import staff_auth_router
from shared.web.discovery import discover_routers
from shared.web.staff_me import staff_me_router


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="manager-app",
        title="Tenure manager app API",
        description="Assigned customers, portraits, care tasks, contact logging, KPIs, hall counter.",
        audience=Audience.MANAGER,
        settings=settings,
        routers=[staff_auth_router(Audience.MANAGER), staff_me_router(CurrentStaff), *discover_routers(routers)],
    )
