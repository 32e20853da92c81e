"""Mobile sync: tasks, customers and portraits changed since the cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from manager_app.auth import CurrentManager
from shared.manager import sync as service
from shared.web.deps import ReadSession

router = APIRouter(prefix="/v1", tags=["sync"])


@router.get("/sync", summary="What changed since my cursor (start without one)")
async def sync(
    principal: CurrentManager,
    session: ReadSession,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    return await service.changes(session, principal, after=cursor, limit=limit)
