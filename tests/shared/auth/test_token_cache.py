"""The per-worker cache of verified tokens: it skips re-verifying a string it verified, and
never serves a token past its expiry, to another audience, issuer or key, or once altered."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

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


def _joserfc_verdict(settings: Settings, token: str, audience: str) -> dict | None:
    """What joserfc alone decides: the claims, or None when it refuses the token."""
    try:
        claims = dict(jwt.decode(token, tokens._key(settings), algorithms=[tokens.ALGORITHM]).claims)
        tokens._registry(settings.jwt_issuer, audience).validate(claims)
    except (JoseError, ValueError, TypeError):
        return None
    return claims


def _variants() -> list[str]:
    good = tokens.issue_access_token(SETTINGS, CUSTOMER)
    head, payload, sig = good.split(".")
    now = int(time.time())
    base = {"iss": "tenure", "aud": "customer-app", "sub": "customer:42", "role": "customer", "exp": now + 60}

    def signed(claims: dict, key: bytes = SETTINGS.jwt_secret.encode(), alg: str = "HS256") -> str:
        return jwt.encode({"alg": alg, "typ": "JWT"}, claims, OctKey.import_key(key), algorithms=[alg])

    alg_none = tokens._b64url(b'{"alg":"none","typ":"JWT"}')
    forged_payload = tokens._b64url(b'{"iss":"tenure","aud":"customer-app","sub":"customer:1","role":"customer"}')
    return [
        good,
        tokens.issue_access_token(SETTINGS, CUSTOMER, ttl_s=-120),  # expired
        f"{head}.{payload}.{sig[:-4]}AAAA",  # signature altered
        f"{head}.{forged_payload}.{sig}",  # claims swapped under the old signature
        f"{head}.{payload}.{sig}=",  # padded signature
        f"{head}.{payload}",  # no signature
        f"{head}.{payload}.{sig}.x",  # a fifth segment
        f"{head}.{payload}.",  # empty signature
        f"{alg_none}.{payload}.",  # alg none
        signed(base),  # good, minted elsewhere with the same key
        signed({**base, "aud": "manager-app"}),
        signed({**base, "iss": "elsewhere"}),
        signed({**base, "exp": 10**400}),  # a NumericDate too large for a float: no 500
        signed({**base, "nbf": now + 3600}),  # not yet valid
        signed({**base, "iat": now + 3600}),  # issued in the future
        signed({k: v for k, v in base.items() if k != "exp"}),  # no expiry
        signed(base, key=b"another-secret-0123456789abcdefgh"),
        signed(base, alg="HS512"),
        f"{head}.{tokens._b64url(b'[1, 2]')}.x",
        "ü.ü.ü",
        "",
    ]


def test_the_hs256_fast_path_decides_exactly_as_joserfc() -> None:
    verdicts = []
    for token in _variants():
        expected = _joserfc_verdict(SETTINGS, token, Audience.CUSTOMER)
        tokens._verified.clear()
        try:
            got: dict | None = tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER).claims
        except Unauthorized:
            got = None
        assert got == expected, token
        verdicts.append(got is not None)
    assert verdicts.count(True) == 3  # the issued token, and two minted elsewhere with the key


def test_issued_tokens_skip_the_generic_jws_path(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens.issue_access_token(SETTINGS, CUSTOMER)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("joserfc's jwt.decode was used")

    monkeypatch.setattr(tokens.jwt, "decode", refuse)
    assert tokens.decode_access_token(SETTINGS, token, audience=Audience.CUSTOMER).id == 42
