"""Real-browser fixtures: Debian's chromium driven by Playwright against a live admin service.

- The admin app runs under uvicorn in a background thread on a free loopback port, on a database
  of its own (copied from the migrated template here, dropped at the end), so the rows these tests
  commit never leak into other tests of the same process. Under xdist the whole folder runs on
  one worker (tests/fixtures/parallel.py), so the service, city and chromium start once.
- Chromium is the distribution's binary (`/usr/bin/chromium`, or `TENURE_CHROMIUM`); Playwright's
  own browser download is never used. Without a binary every `browser` test is skipped with the
  reason; `apt-get install -y chromium` provides it.
- Screenshots go to tests/artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db.engine import create_engine as create_async_engine_for
from shared.db.engine import create_sessionmaker
from shared.settings import Settings
from tests.browser.seed import City, seed_city
from tests.fixtures.db import scratch_database

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """TENURE_CHROMIUM if set (only that one), else Debian's /usr/bin/chromium or one on PATH."""
    override = os.environ.get("TENURE_CHROMIUM")
    candidates = (
        [override]
        if override
        else [
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        ]
    )
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _playwright_missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed: pip install playwright"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _playwright_missing()
    if chromium_path() is None:
        reason = (
            "no chromium binary found: install Debian's with `apt-get install -y chromium` "
            "(or point TENURE_CHROMIUM at one)"
        )
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def console_database_url(server_url: str) -> Iterator[str]:
    with scratch_database(server_url, "tenure_console") as url:
        yield url


@pytest.fixture(scope="session")
def console_settings(console_database_url: str) -> Settings:
    return Settings(DATABASE_URL=console_database_url, env="test", pool_size=5, max_overflow=5)


@pytest.fixture(scope="session")
async def console_engine(console_settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine_for(console_settings, process="browser-tests")
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def console_sm(console_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Committing sessionmaker on the console's database, for seeding and for checking effects."""
    return create_sessionmaker(console_engine)


@pytest.fixture(scope="session")
async def city(console_sm: async_sessionmaker[AsyncSession]) -> City:
    """The seeded, committed city every console test reads (see seed.py)."""
    async with console_sm.begin() as session:
        return await seed_city(session)


@pytest.fixture(scope="session")
def console_url(console_settings: Settings) -> Iterator[str]:
    """Base URL of a live admin service (uvicorn in a thread) on the console database.

    The socket is bound here (port 0) and handed to uvicorn, so parallel test processes can
    never race for the same port."""
    import uvicorn

    from admin_app.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(console_settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the admin service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def page(browser: Browser, console_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser context per test (its own storage) that refuses any off-host request, with
    the console in English (the functional tests read English labels; test_console_i18n covers
    both languages).

    When the test fails, a screenshot of the moment is saved as FAILED-<test>.png.
    """
    async with console_page(browser, console_url, request, lang="en") as pg:
        yield pg


@asynccontextmanager
async def console_page(
    browser: Browser,
    console_url: str,
    request: pytest.FixtureRequest | None = None,
    *,
    lang: str | None,
    width: int = 1400,
    height: int = 900,
) -> AsyncIterator[Page]:
    """A guarded page; `lang` is stored as this device's last language choice (None: none)."""
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        base_url=console_url,
        locale="zh-CN" if lang == "zh-CN" else "en-US",
    )  # native date pickers follow it
    context.set_default_timeout(20_000)  # a 2-core CI box runs the suite two workers wide
    if lang is not None:
        await context.add_init_script(
            f"if (!localStorage.getItem('tenure.lang')) localStorage.setItem('tenure.lang', '{lang}');"
        )
    offhost: list[str] = []

    async def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(console_url) or url.startswith("data:") or url.startswith("blob:"):
            await route.continue_()
        else:
            offhost.append(url)
            await route.abort()

    await context.route("**/*", guard)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None,
    )
    try:
        yield pg
    finally:
        call_report = getattr(request.node, "report_call", None) if request is not None else None
        if call_report is not None and call_report.failed:
            await shot(pg, f"FAILED-{request.node.name}", check_layout=False)
        await context.close()
    assert not offhost, f"the console tried to load from outside: {offhost}"
    assert not errors, f"JavaScript errors or CSP violations in the console: {errors}"


async def shot(pg: Page, name: str, *, check_layout: bool = True) -> Path:
    """Save a full-page screenshot; first check nothing pushes the page wider than the window
    (a long unbroken error or value would otherwise make the whole console scroll sideways)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await pg.screenshot(path=str(path), full_page=True)
    if check_layout:
        width, viewport = await pg.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{name}: the page is {width}px wide in a {viewport}px window"
    return path
