"""A started service has moved its start-up heap out of the collector and collects the young
generation rarely (shared.web.app.GC_THRESHOLDS): a request's objects die by reference count."""

from __future__ import annotations

import gc

from customer_app.app import create_app
from shared.settings import Settings
from shared.web.app import GC_THRESHOLDS


async def test_started_service_freezes_its_heap_and_raises_the_young_threshold(settings: Settings) -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    app = create_app(Settings(DATABASE_URL=settings.database_url, env="test", access_log=False))
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == GC_THRESHOLDS
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
