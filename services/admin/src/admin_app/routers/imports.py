"""CSV data import (master data, usage, bills, and the feed kinds): upload, progress, errors, quality.

The upload is streamed into the spool directory (shared with the worker) while its sha256 is
computed; the load then runs as a queue job on the worker (`imports.run`, durable: a worker
restart resumes it), or inline with `wait=true`, and `GET /v1/imports/{id}` shows its progress
and data-quality report. Column layouts: `GET /v1/imports/layouts` and infra/samples/README.md.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from pydantic import BaseModel

from admin_app.auth import can
from admin_app.routers._backoffice import Format, Limit, Page, csv_response, page, record
from shared.auth.principals import Principal
from shared.backoffice.imports import service as import_service
from shared.backoffice.imports.layouts import LAYOUTS
from shared.db.transactions import own_transaction
from shared.errors import AppError, BadRequest
from shared.jobs import queue
from shared.models import ImportJob
from shared.web.deps import AppSettings, ReadSession, SessionMaker, client_ip
from shared.web.params import IntId

router = APIRouter(prefix="/v1", tags=["imports"])

Kind = Literal[
    "subscribers",
    "usage",
    "daily_usage",
    "bills",
    "handsets",
    "complaints",
    "competitor_calls",
    "subscriptions",
    "contacts",
    "topups",
    "plan_changes",
]
MAX_UPLOAD_BYTES = 2 * 1024**3


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ImportOut(BaseModel):
    id: int
    kind: str
    filename: str
    sha256: str
    status: str
    """queued → validating → loading → done | failed"""
    rows_total: int
    rows_ok: int
    rows_bad: int
    rows_changed: int
    """rows inserted or updated; 0 when the same data is imported again"""
    same_file_as: int | None = None
    """an earlier finished import of the very same file (same sha256), if any"""
    errors: list[dict] = []
    """bad rows: {"line": n, "reason": "..."}; the first 1000 are kept"""
    source: str = "file"
    """file (a CSV upload) or api (a POST /v1/feeds batch)"""
    job_id: int | None = None
    """the queue job loading it (GET /v1/jobs/{id}), if it runs on the worker"""
    quality: dict = {}
    """data-quality report: rows, rows_ok, rows_bad, changed, unchanged, bad_by_reason, duplicates,
    months, late_months (rows per YYYY-MM older than the newest month already loaded)"""
    created_by: int | None
    created_at: datetime
    finished_at: datetime | None


class ColumnOut(BaseModel):
    name: str
    required: bool
    type: str
    description: str


class LayoutOut(BaseModel):
    kind: str
    description: str
    key: list[str]
    columns: list[ColumnOut]


def _out(job: ImportJob, same: int | None = None, *, with_errors: bool = True) -> ImportOut:
    return ImportOut(
        id=job.id,
        kind=job.kind,
        filename=job.filename,
        sha256=job.sha256,
        status=job.status,
        rows_total=job.rows_total,
        rows_ok=job.rows_ok,
        rows_bad=job.rows_bad,
        rows_changed=job.rows_changed,
        same_file_as=same,
        errors=(job.errors or []) if with_errors else [],
        created_by=job.created_by,
        created_at=job.created_at,
        finished_at=job.finished_at,
        source=job.source,
        job_id=job.job_id,
        quality=job.quality or {},
    )


async def _spool(upload: UploadFile, spool: Path) -> tuple[Path, str]:
    """Copy the upload into the spool directory (the worker reads it from there) and hash it."""
    h = hashlib.sha256()
    size = 0
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="tenure-import-", suffix=".csv", dir=spool)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := await upload.read(1 << 20):
                size += len(block)
                if size > MAX_UPLOAD_BYTES:
                    raise PayloadTooLarge("the file is larger than 2 GB; split it", limit_bytes=MAX_UPLOAD_BYTES)
                h.update(block)
                out.write(block)
    except BaseException:
        os.unlink(name)
        raise
    if size == 0:
        os.unlink(name)
        raise BadRequest("the uploaded file is empty")
    return Path(name), h.hexdigest()


async def _run_inline(sm, job_id: int, path: Path, principal: Principal, encoding: str, ip: str | None) -> None:  # type: ignore[no-untyped-def]
    try:
        await import_service.run_import(sm, job_id=job_id, path=path, principal=principal, encoding=encoding, ip=ip)
    finally:
        path.unlink(missing_ok=True)


@router.get("/imports/layouts", response_model=list[LayoutOut], summary="Column layout of each import kind")
async def layouts(principal: can("imports.read")) -> list[LayoutOut]:
    return [
        LayoutOut(
            kind=layout.kind,
            description=layout.doc,
            key=list(layout.key),
            columns=[
                ColumnOut(name=c.name, required=c.required, type=c.sqltype, description=c.doc) for c in layout.columns
            ],
        )
        for layout in LAYOUTS.values()
    ]


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a CSV (multipart field `file`); returns the job, whose progress GET /v1/imports/{id} shows",
    responses={200: {"description": "with wait=true: the finished job"}, 413: {"description": "file over 2 GB"}},
)
async def upload(
    request: Request,
    response: Response,
    principal: can("imports.write"),
    sm: SessionMaker,
    settings: AppSettings,
    file: UploadFile = File(..., description="CSV with a header row, UTF-8 (or gb18030)"),
    kind: Kind = Query(..., description="which layout the file follows"),
    encoding: Literal["utf-8", "gb18030"] = Query("utf-8"),
    wait: bool = Query(False, description="load before answering (for scripts and small files)"),
) -> ImportOut:
    path, digest = await _spool(file, import_service.spool_dir(settings))
    ip = client_ip(request)
    try:
        # committed before the load starts (the worker and GET /v1/imports/{id} read the job row);
        # the queue job is written in the same transaction, so a job exists exactly when the import does
        async with own_transaction(sm) as session:
            job = await import_service.create_job(
                session, kind=kind, filename=file.filename or "upload.csv", sha256=digest, created_by=principal.id
            )
            await record(
                session,
                request,
                principal,
                "import.create",
                "import",
                job.id,
                {"kind": kind, "filename": job.filename, "sha256": digest},
            )
            if not wait:
                job.job_id = await queue.defer(
                    session,
                    queue.Task.IMPORT,
                    {
                        "import_id": job.id,
                        "path": str(path),
                        "encoding": encoding,
                        "staff_id": principal.id,
                        "role": principal.role,
                        "ip": ip,
                    },
                )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if wait:
        await _run_inline(sm, job.id, path, principal, encoding, ip)
        response.status_code = status.HTTP_200_OK
    else:
        response.headers["Location"] = f"/v1/imports/{job.id}"
    async with sm() as session:
        job = await import_service.get_job(session, job.id)
        return _out(job, await import_service.same_file_as(session, job))


@router.get("/imports", response_model=Page[ImportOut], summary="Imports, newest first (errors omitted)")
async def list_imports(
    principal: can("imports.read"),
    session: ReadSession,
    kind: Kind | None = None,
    after: Annotated[IntId | None, Query(description="id of the last item seen (paging goes to older jobs)")] = None,
    limit: int = Limit,
) -> Page[ImportOut]:
    from sqlalchemy import select

    stmt = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(ImportJob.kind == kind)
    if after:
        stmt = stmt.where(ImportJob.id < after)
    jobs = (await session.scalars(stmt)).all()
    return page([_out(j, with_errors=False) for j in jobs], limit)


@router.get("/imports/{import_id}", response_model=ImportOut, summary="Progress and bad rows of one import")
async def get_import(import_id: IntId, principal: can("imports.read"), session: ReadSession) -> ImportOut:
    job = await import_service.get_job(session, import_id)
    return _out(job, await import_service.same_file_as(session, job))


@router.get("/imports/{import_id}/errors", summary="Bad rows of one import (JSON or CSV)", response_model=list[dict])
async def import_errors(import_id: IntId, principal: can("imports.read"), session: ReadSession, format: str = Format):  # type: ignore[no-untyped-def]
    job = await import_service.get_job(session, import_id)
    rows = job.errors or []
    if format == "csv":
        return csv_response(rows, f"import-{import_id}-errors.csv", ["line", "reason"])
    return rows
