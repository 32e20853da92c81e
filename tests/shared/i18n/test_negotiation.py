"""Accept-Language → zh-CN or en, with q-values; anything we lack falls back to the default."""

from __future__ import annotations

import pytest

from shared.i18n import EN, ZH, negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN", ZH),
        ("zh", ZH),
        ("zh-Hans", ZH),
        ("zh-Hans-CN", ZH),
        ("ZH-cn", ZH),
        ("zh-TW", ZH),
        ("en", EN),
        ("en-US", EN),
        ("en-GB,en;q=0.9", EN),
        ("en;q=0.5, zh;q=0.8", ZH),
        ("zh;q=0.5, en;q=0.8", EN),
        ("fr-FR, en;q=0.3, zh;q=0.2", EN),
        ("en, zh", EN),
        ("zh, en", ZH),  # a tie: the first listed
        ("en;q=0, zh;q=0.1", ZH),
        ("zh;q=0, en", EN),  # q=0: not this one
        ("en;q=abc, zh;q=0.1", ZH),
        ("en;q=2, zh;q=0.1", ZH),
        ("en;q=nan, zh;q=0.1", ZH),
        ("en ; q = 0.9 , zh ; q = 0.8", EN),
    ],
)
def test_negotiate(header: str, expected: str) -> None:
    assert negotiate(header, ZH) == expected
    assert negotiate(header, EN) == expected


@pytest.mark.parametrize("header", [None, "", "fr", "de-DE, ja;q=0.9", ",,;", "en;q=0", "x" * 10_000])
def test_nothing_we_have_means_the_default(header: str | None) -> None:
    assert negotiate(header, ZH) == ZH
    assert negotiate(header, EN) == EN


def test_a_wildcard_is_the_default() -> None:
    assert negotiate("*", EN) == EN and negotiate("fr, *;q=0.5", ZH) == ZH
    assert negotiate("*;q=0.5, en", ZH) == EN
