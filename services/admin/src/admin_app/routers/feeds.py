"""Incremental feeds: an integration pushes the day's changes as JSON rows instead of whole files.

`POST /v1/feeds/<kind>` takes up to 10,000 rows with the same columns as the CSV layout of that
kind (`GET /v1/imports/layouts`), validates and merges them through the same path as a CSV import
(row checks, COPY into staging, set-based checks and merge), and answers with the load: a row of
`GET /v1/imports` (source `api`) with its errors and data-quality report. Loading the same
records again changes nothing: every feed kind is keyed by the source system's `record_id`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from admin_app.auth import can
from admin_app.routers._backoffice import record
from admin_app.routers.imports import ImportOut, _out
from shared.backoffice.imports import service as import_service
from shared.backoffice.imports.layouts import LAYOUTS
from shared.backoffice.imports.validate import HeaderError, RowChecker
from shared.db.transactions import own_transaction
from shared.errors import Unprocessable
from shared.web.deps import AppSettings, SessionMaker, client_ip

router = APIRouter(prefix="/v1", tags=["feeds"])

MAX_ROWS = 10_000
FeedKind = Literal[
    "competitor_calls",
    "subscriptions",
    "contacts",
    "topups",
    "plan_changes",
    "subscribers",
    "usage",
    "bills",
    "handsets",
    "complaints",
]
# a cell as the source sent it; the layout's row checker validates and bounds it like a CSV cell
Value = str | Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)] | float | bool | None


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Value]] = Field(
        ..., min_length=1, max_length=MAX_ROWS, description="one object per record, keyed by the layout's column names"
    )


def _cell(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def _write(rows: list[dict[str, Value]], header: list[str], spool: Path) -> Path:
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="tenure-feed-", suffix=".csv", dir=spool)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([_cell(row.get(c)) for c in header])
    return Path(name)


@router.post(
    "/feeds/{kind}",
    response_model=ImportOut,
    summary="Push up to 10,000 records of one kind; idempotent by the source's record_id",
)
async def push(
    kind: FeedKind,
    body: FeedIn,
    request: Request,
    principal: can("imports.write"),
    sm: SessionMaker,
    settings: AppSettings,
) -> ImportOut:
    layout = LAYOUTS[kind]
    known = [c.name for c in layout.columns]
    given = {k for row in body.rows for k in row}
    header = [c for c in known if c in given] + sorted(given - set(known))
    try:
        RowChecker(layout, header)
    except HeaderError as exc:
        raise Unprocessable("the rows do not fit the {kind} layout: {reason}", kind=kind, reason=str(exc)) from None
    digest = hashlib.sha256(json.dumps(body.rows, sort_keys=True, default=str).encode()).hexdigest()
    path = _write(body.rows, header, import_service.spool_dir(settings))
    try:
        async with own_transaction(sm) as session:
            job = await import_service.create_job(
                session, kind=kind, filename=f"api:{kind}", sha256=digest, created_by=principal.id, source="api"
            )
            await record(
                session,
                request,
                principal,
                "import.create",
                "import",
                job.id,
                {"kind": kind, "source": "api", "rows": len(body.rows)},
            )
        await import_service.run_import(sm, job_id=job.id, path=path, principal=principal, ip=client_ip(request))
    finally:
        path.unlink(missing_ok=True)
    async with sm() as session:
        job = await import_service.get_job(session, job.id)
        return _out(job, await import_service.same_file_as(session, job))
