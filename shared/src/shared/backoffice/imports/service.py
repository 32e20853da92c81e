"""Run one CSV import: stream, validate, COPY into a staging table, check and merge set-based.

Invariants:
- the whole load is one transaction: the job ends `done` exactly when its rows are committed,
  or `failed` with nothing loaded;
- re-importing a file that is already loaded changes no row (`rows_changed` = 0), because every
  merge writes only rows that differ;
- progress (`rows_total`, `rows_bad`, status) is committed by a separate short transaction per
  chunk, so `GET /v1/imports/{id}` shows it while the load runs; the load transaction itself
  touches the job row only at the end (no lock wait between the two).
Concurrency: two imports of different kinds run side by side; imports of the same kind into
tables without a unique key serialise on an advisory lock (see merge._merge_plain).
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import unicodedata
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import service as audit
from shared.auth.principals import Principal
from shared.backoffice.imports import merge as merge_sql
from shared.backoffice.imports.layouts import LAYOUTS, Layout
from shared.backoffice.imports.validate import MAX_ERRORS_KEPT, HeaderError, LineCounter, RowChecker, process_chunk
from shared.db import native
from shared.db.transactions import own_transaction
from shared.errors import NotFound, Unprocessable
from shared.logging import get_logger
from shared.models import ImportJob

log = get_logger(__name__)

CHUNK_ROWS = 50_000
ENCODINGS = ("utf-8", "gb18030")
MAX_FILENAME = 100
DEFAULT_FILENAME = "upload.csv"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def display_name(raw: str | None) -> str:
    """The client's file name as a label only: base name (either slash), no control, format or
    line-separator characters, at most MAX_FILENAME characters with the extension kept.

    It is shown in the console and the audit log and never joins a filesystem path (uploads are
    spooled to `tempfile.mkstemp` names).
    """
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/")).rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith(("C", "Zl", "Zp"))).strip()
    if not name.strip("."):
        return DEFAULT_FILENAME
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep = f"{dot}{ext}" if dot and 0 < len(ext) <= 10 else ""
        name = (stem if keep else name)[: MAX_FILENAME - len(keep)] + keep
    return name


async def create_job(
    session: AsyncSession, *, kind: str, filename: str, sha256: str, created_by: int | None
) -> ImportJob:
    if kind not in LAYOUTS:
        raise Unprocessable("unknown import kind", kind=kind, kinds=sorted(LAYOUTS))
    job = ImportJob(kind=kind, filename=display_name(filename), sha256=sha256, status="queued", rows_total=0, rows_ok=0,
                    rows_bad=0, rows_changed=0, errors=[], created_by=created_by)
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: int) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("import not found", id=job_id)
    return job


async def same_file_as(session: AsyncSession, job: ImportJob) -> int | None:
    """The earliest earlier finished import of the same kind with the same file content."""
    return await session.scalar(
        select(func.min(ImportJob.id)).where(
            ImportJob.sha256 == job.sha256, ImportJob.kind == job.kind, ImportJob.id < job.id,
            ImportJob.status == "done",
        )
    )


async def _progress(sm: async_sessionmaker[AsyncSession], job_id: int, **values: object) -> None:
    async with own_transaction(sm) as s:
        await s.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _line_of(error: dict[str, object]) -> int:
    """Sort key: an error's line number, 0 for errors about the whole file."""
    line = error["line"]
    return line if isinstance(line, int) else 0


async def _fail(sm: async_sessionmaker[AsyncSession], job_id: int, reason: str, line: int | None = None) -> None:
    await _progress(sm, job_id, status="failed", finished_at=func.now(),
                    errors=[{"line": line, "reason": reason}])


async def run_import(
    sm: async_sessionmaker[AsyncSession], *, job_id: int, path: Path, principal: Principal,
    encoding: str = "utf-8", chunk_rows: int = CHUNK_ROWS, ip: str | None = None,
) -> None:
    """Load `path` for job `job_id`. Never raises for bad data: the job row says what happened."""
    async with sm() as s:
        job = await get_job(s, job_id)
        kind = job.kind
    layout = LAYOUTS[kind]
    await _progress(sm, job_id, status="validating")
    try:
        with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                await _fail(sm, job_id, "the file is empty", 1)
                return
            try:
                checker = RowChecker(layout, header)
            except HeaderError as exc:
                await _fail(sm, job_id, str(exc), 1)
                return
            await _load(sm, job_id, layout, checker, reader, chunk_rows, principal, ip)
    except UnicodeDecodeError:
        await _fail(sm, job_id, f"the file is not valid {encoding}; try encoding=gb18030")
    except asyncio.CancelledError:
        await _fail(sm, job_id, "the import was interrupted (service shutting down); upload it again")
        raise
    except Exception as exc:  # the job row must leave 'running' whatever happened
        log.exception("import.failed", job_id=job_id)
        await _fail(sm, job_id, f"internal error ({type(exc).__name__}); nothing was loaded")


async def _load(
    sm: async_sessionmaker[AsyncSession], job_id: int, layout: Layout, checker: RowChecker, reader: Iterator[list[str]],
    chunk_rows: int, principal: Principal, ip: str | None,
) -> None:
    stage = f"import_stage_{job_id}"
    lines = LineCounter(reader)
    totals = {"good": 0, "bad": 0}
    errors: list[dict[str, object]] = []
    async with own_transaction(sm) as session:
        await session.execute(text("SET LOCAL statement_timeout = '30min'"))
        cols = ", ".join(f"{c.target} {c.sqltype}" for c in checker.columns)
        await session.execute(text(f"CREATE TEMP TABLE {stage} (line_no bigint NOT NULL, {cols}) ON COMMIT DROP"))
        conn = await session.connection()
        # raw asyncpg for COPY into the staging table, inside this own_transaction (see shared.db.transactions)
        raw = await native.driver_connection(conn)

        async def source() -> AsyncIterator[bytes]:
            while True:
                chunk = await asyncio.to_thread(
                    process_chunk, reader, lines, checker, chunk_rows, MAX_ERRORS_KEPT - len(errors)
                )
                totals["good"] += chunk.good
                totals["bad"] += chunk.bad
                errors.extend(chunk.errors)
                await _progress(sm, job_id, rows_total=totals["good"] + totals["bad"], rows_bad=totals["bad"])
                if chunk.data:
                    yield chunk.data
                if chunk.done:
                    return

        await raw.copy_to_table(stage, source=source(), columns=["line_no", *checker.targets], format="csv")
        await _progress(sm, job_id, status="loading")
        await session.execute(text(f"ANALYZE {stage}"))
        present = set(checker.targets)
        sql_bad, sql_errors = await merge_sql.run_checks(
            session, layout, stage, present, MAX_ERRORS_KEPT - len(errors)
        )
        errors.extend(sql_errors)
        changed = await merge_sql.merge(session, layout, stage, present)
        rows_total = totals["good"] + totals["bad"]
        rows_bad = totals["bad"] + sql_bad
        errors.sort(key=_line_of)
        await session.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(
                status="done", rows_total=rows_total, rows_ok=rows_total - rows_bad, rows_bad=rows_bad,
                rows_changed=changed, errors=errors, finished_at=func.now(),
            )
        )
        await audit.record(
            session, principal=principal, action="import.finish", object_kind="import", object_id=job_id,
            detail={"kind": layout.kind, "rows_ok": rows_total - rows_bad, "rows_bad": rows_bad,
                    "rows_changed": changed},
            ip=ip,
        )
    log.info("import.done", job_id=job_id, kind=layout.kind, rows=rows_total, bad=rows_bad, changed=changed)
