"""Accept-Language (RFC 9110 §12.5.4) → one of the languages we have: zh-CN or en."""

from __future__ import annotations

from shared.i18n.messages import EN, ZH

_MAX_RANGES = 32  # a header is short; a padded one is not worth parsing in full


def _match(tag: str, default: str) -> str | None:
    """Every Chinese tag (zh, zh-CN, zh-Hans, zh-TW, …) reads our Simplified Chinese best; `*` is
    whatever the service defaults to; anything else we do not have."""
    tag = tag.lower()
    if tag == "*":
        return default
    primary = tag.split("-", 1)[0]
    if primary == "zh":
        return ZH
    if primary == "en":
        return EN
    return None


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0  # NaN, inf and out-of-range weights count as refusals
    return 1.0


def negotiate(header: str | None, default: str = ZH) -> str:
    """The highest-weighted language range we can serve (the first listed wins a tie); `default`
    when the header is absent, empty or names nothing we have. q=0 means "not this one"."""
    if not header:
        return default
    best, best_q = default, 0.0
    for part in header.split(",")[:_MAX_RANGES]:
        tag, _, params = part.strip().partition(";")
        language = _match(tag.strip(), default)
        if language is None:
            continue
        q = _quality(params)
        if q > best_q:
            best, best_q = language, q
    return best
