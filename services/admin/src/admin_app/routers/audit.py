"""The audit log, read-only: who did what, when, from where. Nobody can edit it (a trigger refuses
UPDATE and DELETE on audit_log); this API has no write route at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from admin_app.auth import can
from admin_app.routers._backoffice import Format, csv_response
from shared.models import AuditLog
from shared.web.deps import ReadSession
from shared.web.params import Id

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    object_kind: str | None
    object_id: str | None
    detail: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_before: int | None
    """pass as `before` for the next (older) page; null on the last page"""


@router.get("/audit", response_model=AuditPage, summary="Audit log, newest first, with filters (CSV with format=csv)")
async def read_audit(
    principal: can("audit.read"),
    session: ReadSession,
    actor: str | None = Query(None, max_length=80, description="e.g. staff:12"),
    action: str | None = Query(None, max_length=60, description="exact action, or a prefix ending in '.' (campaign.)"),
    object_kind: str | None = Query(None, max_length=40),
    object_id: str | None = Query(None, max_length=60),
    since: datetime | None = None,
    until: datetime | None = None,
    before: Id | None = None,
    limit: int = Query(50, ge=1, le=500),
    format: str = Format,
):  # type: ignore[no-untyped-def]
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action) if action.endswith(".") else AuditLog.action == action)
    if object_kind:
        stmt = stmt.where(AuditLog.object_kind == object_kind)
    if object_id:
        stmt = stmt.where(AuditLog.object_id == object_id)
    if since:
        stmt = stmt.where(AuditLog.at >= since)
    if until:
        stmt = stmt.where(AuditLog.at < until)
    if before:
        stmt = stmt.where(AuditLog.id < before)
    rows = [
        AuditOut(
            id=r.id,
            at=r.at,
            actor=r.actor,
            role=r.role,
            action=r.action,
            object_kind=r.object_kind,
            object_id=r.object_id,
            detail=r.detail or {},
            ip=None if r.ip is None else str(r.ip),
        )
        for r in (await session.scalars(stmt)).all()
    ]
    if format == "csv":
        return csv_response([r.model_dump() for r in rows], "audit.csv")
    return AuditPage(items=rows, next_before=rows[-1].id if len(rows) == limit else None)
