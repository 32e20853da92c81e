"""Gauges refreshed in the background of an API process, so a /metrics scrape never waits on a query.

A domain module exposes `refresh(sm)` (one read, then `Gauge.set`); the service wires it here:
`GaugeRefresher(metrics.refresh, every_s=15).install(app)`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Refresh = Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]


class GaugeRefresher:
    """Runs `refresh` on the app's read sessionmaker every `every_s` seconds between startup and shutdown."""

    def __init__(self, refresh: Refresh, *, every_s: float) -> None:
        self.refresh = refresh
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def install(self, app: FastAPI) -> None:
        app.state.startup_hooks.append(self.start)
        app.state.shutdown_hooks.append(self.stop)

    async def start(self, app: FastAPI) -> None:
        sm = app.state.read_sessionmaker

        async def loop() -> None:
            while True:
                with contextlib.suppress(Exception):  # a scrape shows the last good numbers
                    await self.refresh(sm)
                await asyncio.sleep(self.every_s)

        self._task = asyncio.create_task(loop())

    async def stop(self, app: FastAPI) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
