"""Message catalogues: the English key → the text in each language, with named placeholders."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

ZH = "zh-CN"
EN = "en"
LANGUAGES = (ZH, EN)

_FORMATTER = string.Formatter()


def _load(language: str) -> Mapping[str, str]:
    data = json.loads(Path(__file__).with_name(f"messages.{language}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"messages.{language}.json must map strings to strings")
    return MappingProxyType(data)


# English needs no file: the key is the English text.
_CATALOGUES: dict[str, Mapping[str, str]] = {ZH: _load(ZH), EN: MappingProxyType({})}


def catalogue(language: str) -> Mapping[str, str]:
    """The key → text map of `language` (empty for English, whose texts are the keys)."""
    return _CATALOGUES[language]


def placeholders(template: str) -> set[str]:
    """The named fields of `template`. Raises ValueError for anything but plain `{name}` fields
    (positional `{}`, attribute or index access, conversions, format specs) or unbalanced braces."""
    names: set[str] = set()
    for _, field, spec, conversion in _FORMATTER.parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} is not a plain {{name}}")
        names.add(field)
    return names


class _Keep(dict[str, Any]):
    """A placeholder without a value stays as written rather than failing the whole message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(message: str, language: str, values: Mapping[str, Any] | None = None) -> str:
    """`message` (an English key) in `language`, placeholders filled from `values`.

    An unknown key or language falls back to the English text; a template that cannot be filled
    is returned as written (a message must never turn an error response into a 500)."""
    return fill(_CATALOGUES.get(language, _CATALOGUES[EN]).get(message, message), values)


def fill(template: str, values: Mapping[str, Any] | None = None) -> str:
    """`template` with its `{name}` placeholders replaced from `values`; one without a value stays
    as written, and a template that cannot be filled comes back unchanged (never raises)."""
    if "{" not in template:
        return template
    try:
        return _FORMATTER.vformat(template, (), _Keep(values or {}))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template
