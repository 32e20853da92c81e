"""Back office API and web console (port 8004)."""

from __future__ import annotations

from fastapi import FastAPI

from admin_app import routers
from admin_app.auth import AnyStaff
from admin_app.routers.imports import MAX_UPLOAD_BYTES
from shared.auth.principals import Audience
from shared.backoffice import capacity
from shared.jobs import metrics as job_metrics
from shared.settings import Settings
from shared.web.app import create_service_app
from shared.web.auth_routes import staff_auth_router
from shared.web.discovery import discover_routers
from shared.web.gauges import GaugeRefresher
from shared.web.staff_me import staff_me_router


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        name="admin",
        title="Tenure back office API",
        description="Data import, tags, tiers, strategies, campaigns, merchants, models, reports, audit.",
        audience=Audience.ADMIN,
        settings=settings,
        routers=[staff_auth_router(Audience.ADMIN), staff_me_router(AnyStaff), *discover_routers(routers)],
        body_limits={"/v1/imports": MAX_UPLOAD_BYTES},  # streamed to disk, checked again while spooling
    )
    # the job queue in /metrics (tenure_jobs, oldest waiting, schedules)
    GaugeRefresher(job_metrics.refresh, every_s=15.0).install(app)
    # tenure_high_value_unassigned{branch_id} in /metrics
    GaugeRefresher(capacity.refresh_gauge, every_s=300.0).install(app)
    return app
