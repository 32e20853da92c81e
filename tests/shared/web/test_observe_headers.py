"""The standard response headers the observing middleware adds, on raw ASGI header lists."""

from __future__ import annotations

from shared.web.observe import HSTS, _with_standard_headers


def as_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in headers:
        out.setdefault(k.decode().lower(), []).append(v.decode())
    return out


def test_api_response_gets_request_id_no_store_and_security_headers() -> None:
    h = as_dict(_with_standard_headers([(b"content-type", b"application/json")], "abc123", "/v1/checkin", False))
    assert h["x-request-id"] == ["abc123"]
    assert h["cache-control"] == ["no-store"]
    assert h["x-content-type-options"] == ["nosniff"]
    assert h["x-frame-options"] == ["DENY"]
    assert "strict-transport-security" not in h
    assert h["content-type"] == ["application/json"]


def test_own_headers_are_kept_and_request_id_replaced_not_doubled() -> None:
    raw = [
        (b"X-Request-ID", b"from-the-route"),
        (b"Cache-Control", b"max-age=60"),
        (b"X-Frame-Options", b"SAMEORIGIN"),
        (b"x-content-type-options", b"nosniff"),
    ]
    h = as_dict(_with_standard_headers(raw, "rid", "/v1/catalog", True))
    assert h["x-request-id"] == ["rid"]
    assert h["cache-control"] == ["max-age=60"]
    assert h["x-frame-options"] == ["SAMEORIGIN"]
    assert h["x-content-type-options"] == ["nosniff"]
    assert h["strict-transport-security"] == [HSTS]


def test_no_store_only_on_the_api() -> None:
    h = as_dict(_with_standard_headers([], "rid", "/console/index.html", False))
    assert "cache-control" not in h
    assert h["x-frame-options"] == ["DENY"]
