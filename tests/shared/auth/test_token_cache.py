"""The per-worker cache of verified tokens: it skips re-verifying a string it verified, and
never serves a token past its expiry, to another audience, issuer or key, or once altered."""

from __future__ import annotations

import time

import pytest

from shared.auth import tokens
from shared.auth.principals import Audience, Principal
from shared.errors import Unauthorized
from shared.settings import Settings

SETTINGS = Settings(env="dev", jwt_secret="unit-test-secret-0123456789abcdef")
CUSTOMER = Principal("customer", 42, "customer", Audience.CUSTOMER)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    tokens._verified.clear()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = tokens._verify

    def counting(settings: Settings, token: str, *, audience: str) -> Principal:
        seen.append(token)
        return real(settings, token, audience=audience)

    monkeypatch.setattr(tokens, "_verify", counting)
    return seen


def test_a_repeated_token_is_verified_once(verifications: list[str]) -> None:
    token = tokens.issue_access_token(SETTINGS, CUSTOMER)
    first = tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)
    again = tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)
    assert first == again and first.id == 42
    assert verifications == [token]


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens.issue_access_token(SETTINGS, CUSTOMER, ttl_s=5)
    tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 5 + tokens.LEEWAY_S + 1)
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)


def test_the_cache_does_not_cross_audience_issuer_or_key() -> None:
    token = tokens.issue_access_token(SETTINGS, CUSTOMER)
    tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(SETTINGS, token, audience=Audience.MANAGER)
    other_key = SETTINGS.model_copy(update={"jwt_secret": "another-secret-0123456789abcdefgh"})
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(other_key, token, audience=Audience.CUSTOMER)
    other_issuer = SETTINGS.model_copy(update={"jwt_issuer": "someone-else"})
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(other_issuer, token, audience=Audience.CUSTOMER)


def test_an_altered_cached_token_is_refused() -> None:
    token = tokens.issue_access_token(SETTINGS, CUSTOMER)
    tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER)
    head, payload, sig = token.split(".")
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(SETTINGS, f"{head}.{payload}.{sig[:-4]}AAAA", audience=Audience.CUSTOMER)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, verifications: list[str]) -> None:
    monkeypatch.setattr(tokens._verified, "size", 2)
    a, b, c = (tokens.issue_access_token(SETTINGS, CUSTOMER) for _ in range(3))
    for t in (a, b, c, c, a):
        tokens.decode_access_token(SETTINGS, t, audience=Audience.CUSTOMER)
    assert verifications == [a, b, c, a]  # a fell out when c came in
