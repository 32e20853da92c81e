"""PATCH bodies: only the fields the client sent change, and null only where a field may be cleared."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from shared.errors import Unprocessable


def patch_changes(body: BaseModel, *, clearable: Collection[str] = ()) -> dict[str, Any]:
    """The fields `body` set, as {name: value}.

    Patch models declare every field `X | None = None` so that an absent field means "unchanged";
    an explicit null is then refused (422) unless the field is in `clearable`, rather than
    reaching a NOT NULL column as a 500.
    """
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k not in clearable)
    if nulls:
        raise Unprocessable("these fields cannot be set to null", fields=nulls)
    return changes
