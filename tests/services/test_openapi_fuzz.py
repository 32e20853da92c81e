"""Schemathesis over each service's published OpenAPI, against the running service.

Whatever it sends — wrong types, out-of-range numbers, oversized strings, missing or malformed
headers, unknown ids — the answer is never a 5xx, and every 4xx carries the shared error body
({error, detail, context}). Each service runs as a real uvicorn process on this module's
migrated database, signed in as a real principal of its audience, so the requests reach the
handlers and PostgreSQL rather than stopping at the token check.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from shared.settings import Settings
from tests.fixtures.factories import create_branch, create_customer, create_merchant, create_product, create_staff
from tests.services.customer_app.conftest import ERROR_KEYS

SERVICES = {
    "customer": "customer_app.app:create_app",
    "manager": "manager_app.app:create_app",
    "alliance": "alliance_app.app:create_app",
    "admin": "admin_app.app:create_app",
}
# Examples per operation: enough for schemathesis to try each parameter's boundaries and wrong
# types, few enough that the four services stay under a minute or two in CI.
EXAMPLES = int(os.environ.get("TENURE_FUZZ_EXAMPLES", "25"))
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The four services as uvicorn processes on this module's database: {service: base URL}.

    Their logs (a 500's stack trace included) go to files under pytest's temporary directory.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TENURE_ENV": "test",
        "TENURE_ACCESS_LOG": "false",
        "TENURE_POOL_SIZE": "4",
    }
    logs = tmp_path_factory.mktemp("fuzz-logs")
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name, factory in SERVICES.items():
            port = _free_port()
            with open(logs / f"{name}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "uvicorn",
                            factory,
                            "--factory",
                            "--port",
                            str(port),
                            "--log-level",
                            "warning",
                        ],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls[name] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        for name, url in urls.items():
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready")
                time.sleep(0.2)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
async def auth(sm, tokens) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """A signed-in principal per service, owning some data so the handlers get past 'not found'."""
    async with sm.begin() as s:
        await s.execute(text("SELECT ensure_usage_partition(date_trunc('month', now())::date)"))
        branch = await create_branch(s)
        manager = await create_staff(s, org_unit_id=branch.id)
        admin = await create_staff(s, role="admin")
        customer = await create_customer(s, branch_id=branch.id)
        await s.execute(
            text("INSERT INTO manager_assignments (customer_id, manager_id) VALUES (:c, :m)"),
            {"c": customer.id, "m": manager.id},
        )
        await create_product(s)
        merchant = await create_merchant(s)

    return {
        "customer": tokens.customer(customer.id),
        "manager": tokens.manager(manager.id, org_unit_id=branch.id),
        "alliance": tokens.merchant(merchant.id),
        "admin": tokens.admin(admin.id),
    }


def _schema(name: str):  # type: ignore[no-untyped-def]
    """The service's OpenAPI document, built from the app object (no server needed to collect)."""
    module, _, factory = SERVICES[name].partition(":")
    return schemathesis.openapi.from_dict(getattr(importlib.import_module(module), factory)(Settings()).openapi())


def _check(case, base_url: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Send the generated request with the principal's token; no 5xx, 4xx in the error shape."""
    response = case.call(base_url=base_url, headers={**(case.headers or {}), **headers}, timeout=30)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}\n{case.as_curl_command()}\n{response.text[:800]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and set(body) == ERROR_KEYS, where


def _fuzz(name: str):  # type: ignore[no-untyped-def]
    """One test per operation of service `name`, signed in as that service's principal."""

    @_schema(name).parametrize()
    @FUZZ
    def test(case, live, auth) -> None:  # type: ignore[no-untyped-def]
        _check(case, live[name], auth[name])

    return test


test_customer_app_never_5xx = _fuzz("customer")
test_manager_app_never_5xx = _fuzz("manager")
test_alliance_never_5xx = _fuzz("alliance")
test_admin_never_5xx = _fuzz("admin")
