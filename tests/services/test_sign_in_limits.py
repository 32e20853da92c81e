"""Sign-in attempt limits over HTTP, as an outside attacker probes them (issue 18):

- a concurrent burst of wrong secrets gets only the limit's worth of checks (staff on both
  staff apps, merchant client credentials), because the slot is reserved before the check;
- per-address limits: OTP sends, wrong OTPs across numbers, wrong passwords across usernames;
- a victim hammered from one address still signs in from another; a fresh SMS code still works
  after the old one was guessed at; a per-account ceiling still stops distributed guessing.

Every test uses addresses of its own (the counters live in the module's database). The test
settings carry the production defaults, which the first test pins.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from admin_app.app import create_app as create_admin_app
from alliance_app.app import create_app as create_alliance_app
from manager_app.app import create_app as create_manager_app
from shared.masking import phone_digest
from shared.models import OtpCode
from shared.settings import Settings
from tests.fixtures.apps import otp_in
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories import (
    TEST_PASSWORD,
    create_branch,
    create_customer,
    create_merchant,
    create_merchant_client,
    create_staff,
)
from tests.services.test_platform import assert_error_shape

_hosts = itertools.count(1)
# small, patient pools for the bursts (the Postgres server is shared by several test processes)
PATIENT = {
    "pool_size": 8,
    "max_overflow": 0,
    "pool_timeout_s": 120,
    "lock_timeout_ms": 60_000,
    "statement_timeout_ms": 90_000,
}
LIMIT_DEFAULTS = {
    "login_max_failures": 5,
    "login_account_max_failures": 50,
    "login_address_max_failures": 10,
    "login_window_s": 900,
    "otp_per_phone_per_day": 10,
    "otp_send_per_address": 10,
    "otp_send_window_s": 3600,
    "otp_fail_per_address": 10,
    "otp_max_attempts": 5,
    "till_guess_limit": 10,
    "till_guess_window_s": 60,
}


def new_address() -> str:
    """A client address no other test in this module uses."""
    n = next(_hosts)
    return f"198.51.{n // 250}.{n % 250 + 1}"


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """An HTTP client whose requests come from `address` (request.client.host)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40_000)), base_url="http://test", timeout=180
    )


@asynccontextmanager
async def patient_client(
    factory: Callable[[Settings], FastAPI], settings: Settings, address: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = factory(settings.model_copy(update=PATIENT))
    async with app.router.lifespan_context(app), client_at(app, address) as c:
        yield c


def test_the_tests_run_on_the_production_defaults(settings) -> None:
    for name, value in LIMIT_DEFAULTS.items():
        assert Settings.model_fields[name].default == value, name
        assert getattr(settings, name) == value, name


async def _burst(attempt: Callable[[str], Awaitable[httpx.Response]], secret: str, limit: int) -> None:
    """29 wrong secrets and the right one last, all at once: at most `limit` wrong ones are
    checked, the rest get 429; once the limit is reached the right secret is refused too."""
    responses = await gather_concurrently(30, lambda i: attempt(secret if i == 29 else f"wrong-secret-{i}"))
    counts = Counter(r.status_code for r in responses)
    assert counts[401] <= limit and counts[401] + counts[429] + counts[200] == 30, counts
    # the right one either won a slot (200, and gave it back) or was refused; wrong ones filled the rest
    assert responses[29].status_code in (200, 429) and counts[401] >= limit - 1, counts
    for _ in range(limit - counts[401]):
        assert (await attempt("wrong-secret-again")).status_code == 401
    assert_error_shape(await attempt(secret), 429)


@pytest.mark.parametrize("app_name", ["manager", "admin"])
async def test_a_concurrent_burst_cannot_outrun_the_staff_lockout(settings, sm, app_name: str) -> None:
    factory, role = {"manager": (create_manager_app, "account_manager"), "admin": (create_admin_app, "admin")}[app_name]
    async with sm.begin() as s:
        user = await create_staff(s, role=role, org_unit_id=(await create_branch(s)).id)
    async with patient_client(factory, settings, new_address()) as c:
        await _burst(
            lambda pw: c.post("/v1/auth/login", json={"username": user.username, "password": pw}),
            TEST_PASSWORD,
            settings.login_max_failures,
        )
    # the lock binds the address that hammered, not the account
    async with patient_client(factory, settings, new_address()) as elsewhere:
        ok = await elsewhere.post("/v1/auth/login", json={"username": user.username, "password": TEST_PASSWORD})
        assert ok.status_code == 200, ok.text


async def test_a_concurrent_burst_cannot_outrun_the_client_credentials_lockout(settings, sm) -> None:
    async with sm.begin() as s:
        m = await create_merchant(s)
        client_id, secret = await create_merchant_client(s, m.id)

    def form(pw: str) -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": pw}

    async with patient_client(create_alliance_app, settings, new_address()) as c:
        await _burst(lambda pw: c.post("/v1/oauth/token", data=form(pw)), secret, settings.login_max_failures)
    async with patient_client(create_alliance_app, settings, new_address()) as elsewhere:
        assert (await elsewhere.post("/v1/oauth/token", data=form(secret))).status_code == 200


async def test_spraying_usernames_from_one_address_hits_429(manager_app, sm, settings) -> None:
    async with sm.begin() as s:
        user = await create_staff(s, role="account_manager")
    budget = settings.login_address_max_failures
    async with client_at(manager_app, new_address()) as sprayer:
        for i in range(budget):
            r = await sprayer.post(
                "/v1/auth/login", json={"username": f"guess-{i}-{user.username}", "password": "Winter2026!"}
            )
            assert r.status_code == 401, (i, r.text)
        assert_error_shape(
            await sprayer.post("/v1/auth/login", json={"username": user.username, "password": "Winter2026!"}), 429
        )
    async with client_at(manager_app, new_address()) as colleague:
        assert (
            await colleague.post("/v1/auth/login", json={"username": user.username, "password": TEST_PASSWORD})
        ).status_code == 200


async def test_a_victim_hammered_from_one_address_signs_in_from_another(manager_app, sm, settings) -> None:
    async with sm.begin() as s:
        victim = await create_staff(s, role="account_manager")
    creds = {"username": victim.username, "password": TEST_PASSWORD}
    async with client_at(manager_app, new_address()) as attacker:
        statuses = [
            (await attacker.post("/v1/auth/login", json={**creds, "password": "wrong"})).status_code for _ in range(6)
        ]
        assert statuses == [401] * settings.login_max_failures + [429]
        assert_error_shape(await attacker.post("/v1/auth/login", json=creds), 429)  # the right password too, from there
    async with client_at(manager_app, new_address()) as victim_desk:
        ok = await victim_desk.post("/v1/auth/login", json=creds)
        assert ok.status_code == 200, ok.text


async def test_distributed_guessing_meets_the_per_account_ceiling(sm, settings) -> None:
    """With the ceiling at 2 addresses' worth (the default, 50, is 10 addresses' worth of argon2)."""
    async with sm.begin() as s:
        victim = await create_staff(s, role="account_manager")
    per_address = settings.login_max_failures
    app = create_manager_app(settings.model_copy(update={"login_account_max_failures": 2 * per_address}))
    async with app.router.lifespan_context(app):
        for _ in range(2):
            async with client_at(app, new_address()) as bot:
                for _ in range(per_address):
                    assert (
                        await bot.post("/v1/auth/login", json={"username": victim.username, "password": "wrong"})
                    ).status_code == 401
        async with client_at(app, new_address()) as fresh_bot:
            body = assert_error_shape(
                await fresh_bot.post("/v1/auth/login", json={"username": victim.username, "password": TEST_PASSWORD}),
                429,
            )
    assert body["context"]["retry_after_s"] > 0


async def test_otp_sends_are_limited_per_address(customer_app, sm, settings) -> None:
    async with sm.begin() as s:
        customers = [await create_customer(s) for _ in range(3)]
    phones = [c.phone for c in customers] + [
        f"1390000{i:04d}" for i in range(settings.otp_send_per_address)
    ]  # unknown count too
    async with client_at(customer_app, new_address()) as c:
        sent = [
            (await c.post("/v1/auth/otp", json={"phone": p})).status_code
            for p in phones[: settings.otp_send_per_address]
        ]
        assert sent == [202] * settings.otp_send_per_address
        body = assert_error_shape(
            await c.post("/v1/auth/otp", json={"phone": phones[-1]}, headers={"Accept-Language": "en"}), 429
        )
        assert "address" in body["detail"]
    async with client_at(customer_app, new_address()) as neighbour:
        assert (await neighbour.post("/v1/auth/otp", json={"phone": phones[-1]})).status_code == 202


async def test_wrong_otps_over_many_numbers_from_one_address_hit_429(customer_app, sm, settings) -> None:
    async with sm.begin() as s:
        customers = [await create_customer(s) for _ in range(6)]
    async with client_at(customer_app, new_address()) as guesser:
        statuses = [
            (await guesser.post("/v1/auth/login", json={"phone": c.phone, "code": f"{i:06d}"})).status_code
            for i, c in enumerate(customers * 4)
        ]
    budget = settings.otp_fail_per_address
    assert statuses == [401] * budget + [429] * (24 - budget)


def _code(customer_app: FastAPI, phone: str) -> str:
    return otp_in(customer_app.state.sms_sender.last_to(phone))


async def test_a_fresh_code_works_after_wrong_guesses_killed_the_old_one(customer_app, sm, settings) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    async with client_at(customer_app, new_address()) as attacker, client_at(customer_app, new_address()) as phone_app:
        assert (await phone_app.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
        old = _code(customer_app, c.phone)
        wrong = [f"{(int(old) + k) % 1_000_000:06d}" for k in range(1, settings.otp_max_attempts + 1)]
        for guess in wrong:  # no SMS needed to guess at someone's live code
            assert (await attacker.post("/v1/auth/login", json={"phone": c.phone, "code": guess})).status_code == 401
        assert_error_shape(
            await phone_app.post("/v1/auth/login", json={"phone": c.phone, "code": old}), 401
        )  # the code died
        assert (await phone_app.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
        ok = await phone_app.post("/v1/auth/login", json={"phone": c.phone, "code": _code(customer_app, c.phone)})
        assert ok.status_code == 200, ok.text
        # and the same holds when the customer mistyped five times from their own phone
        assert (await phone_app.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
        mine = _code(customer_app, c.phone)
        for k in range(1, settings.otp_max_attempts + 1):
            await phone_app.post(
                "/v1/auth/login", json={"phone": c.phone, "code": f"{(int(mine) + k) % 1_000_000:06d}"}
            )
        assert (await phone_app.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
        again = await phone_app.post("/v1/auth/login", json={"phone": c.phone, "code": _code(customer_app, c.phone)})
        assert again.status_code == 200, again.text


async def test_a_concurrent_burst_from_many_addresses_gets_one_code_only_its_attempts(
    customer_app, sm, settings
) -> None:
    """No per-number lock is needed: the code's own attempt counter holds under concurrency."""
    async with sm.begin() as s:
        c = await create_customer(s)
    async with client_at(customer_app, new_address()) as phone_app:
        assert (await phone_app.post("/v1/auth/otp", json={"phone": c.phone})).status_code == 202
        code = _code(customer_app, c.phone)
        bots = [client_at(customer_app, new_address()) for _ in range(30)]
        try:
            responses = await gather_concurrently(
                30,
                lambda i: bots[i].post(
                    "/v1/auth/login", json={"phone": c.phone, "code": f"{(int(code) + i + 1) % 1_000_000:06d}"}
                ),
            )
        finally:
            for bot in bots:
                await bot.aclose()
        assert {r.status_code for r in responses} == {401}
        async with sm() as s:
            otp = await s.scalar(select(OtpCode).where(OtpCode.phone_digest == phone_digest(c.phone)))
        assert otp.attempts == settings.otp_max_attempts and otp.consumed_at is not None
        assert_error_shape(await phone_app.post("/v1/auth/login", json={"phone": c.phone, "code": code}), 401)
