"""Helpers shared by the back-office routers of issue 7: audit rows, paging, CSV export.

Not a router module (the leading underscore keeps it out of auto-discovery).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import service as audit
from shared.auth.principals import Principal
from shared.web.csv_export import to_csv
from shared.web.deps import client_ip

T = TypeVar("T")

Limit = Query(50, ge=1, le=100, description="Page size (at most 100)")
Format = Query("json", pattern="^(json|csv)$", description="`csv` returns the same rows as a CSV file")
FormatT = Literal["json", "csv"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_after: int | None = None
    """Pass as `after` to get the next page; null on the last page."""


def page(items: Sequence[T], limit: int, key: str = "id") -> Page[T]:
    last = getattr(items[-1], key) if items and len(items) == limit else None
    return Page[T](items=list(items), next_after=last)


async def record(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    action: str,
    object_kind: str,
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit row in the same transaction as the change (shared.audit.record), with the caller's IP."""
    await audit.record(
        session,
        principal=principal,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        detail=detail,
        ip=client_ip(request),
    )


def csv_response(rows: Iterable[dict[str, Any]], filename: str, columns: Sequence[str] | None = None) -> Response:
    """Every CSV export goes through shared.web.csv_export (formula cells neutralised)."""
    return Response(
        content=to_csv(rows, columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
