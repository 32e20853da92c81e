"""Append-only audit log: every back-office change and every view of unmasked personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.principals import Principal
from shared.models import AuditLog


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    object_kind: str | None = None,
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Written in the caller's transaction, so the audit row exists exactly when the change does."""
    session.add(
        AuditLog(
            actor=principal.subject,
            role=principal.role,
            action=action,
            object_kind=object_kind,
            object_id=None if object_id is None else str(object_id),
            detail=detail or {},
            ip=ip,
        )
    )
