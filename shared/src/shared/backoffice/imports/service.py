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
Durability: uploads run as queue jobs (`shared.jobs`, task imports.run). A retried job starts
the file again from the top (the killed load transaction left nothing behind) and the status row
moves on from wherever the dead attempt left it; a job whose import is already `done` does nothing.
Each load records a data-quality report (`quality.report`) on the job row.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import service as audit
from shared.auth.principals import Principal
from shared.backoffice.imports import merge as merge_sql
from shared.backoffice.imports import quality
from shared.backoffice.imports.layouts import LAYOUTS, Layout
from shared.backoffice.imports.validate import MAX_ERRORS_KEPT, HeaderError, LineCounter, RowChecker, process_chunk
from shared.db import native
from shared.db.embedded import REPO_ROOT
from shared.db.transactions import own_transaction
from shared.errors import NotFound, Unprocessable
from shared.logging import get_logger
from shared.models import ImportJob
from shared.settings import Settings

log = get_logger(__name__)

CHUNK_ROWS = 50_000
ENCODINGS = ("utf-8", "gb18030")
MAX_FILENAME = 100
DEFAULT_FILENAME = "upload.csv"


def spool_dir(settings: Settings) -> Path:
    """Where uploads wait for the worker: TENURE_SPOOL_DIR, else .data/spool in the checkout."""
    return Path(settings.spool_dir) if settings.spool_dir else REPO_ROOT / ".data" / "spool"


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


Progress = Callable[[float], Awaitable[None]]


async def create_job(
    session: AsyncSession,
    *,
    kind: str,
    filename: str,
    sha256: str,
    created_by: int | None,
    source: str = "file",
) -> ImportJob:
    if kind not in LAYOUTS:
        raise Unprocessable("unknown import kind", kind=kind, kinds=sorted(LAYOUTS))
    job = ImportJob(
        kind=kind,
        filename=display_name(filename),
        sha256=sha256,
        status="queued",
        rows_total=0,
        rows_ok=0,
        rows_bad=0,
        rows_changed=0,
        errors=[],
        created_by=created_by,
        source=source,
        quality={},
    )
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
            ImportJob.sha256 == job.sha256,
            ImportJob.kind == job.kind,
            ImportJob.id < job.id,
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


async def fail(sm: async_sessionmaker[AsyncSession], job_id: int, reason: str, line: int | None = None) -> None:
    """End the import `failed` with one reason (committed on its own)."""
    await _progress(sm, job_id, status="failed", finished_at=func.now(), errors=[{"line": line, "reason": reason}])


async def run_import(
    sm: async_sessionmaker[AsyncSession],
    *,
    job_id: int,
    path: Path,
    principal: Principal,
    encoding: str = "utf-8",
    chunk_rows: int = CHUNK_ROWS,
    ip: str | None = None,
    on_progress: Progress | None = None,
    durable: bool = False,
    final: bool = True,
) -> str:
    """Load `path` for job `job_id`; return the final status ('done' or 'failed').

    Never raises for bad data: the job row says what happened. As a queue job (`durable`), an
    unexpected error or an interruption re-raises so the queue can retry: the row goes back to
    `queued` with the reason while attempts are left, and ends `failed` on the `final` one.
    """
    async with sm() as s:
        job = await get_job(s, job_id)
        kind, status = job.kind, job.status
    if status == "done":
        return status  # a retried job whose earlier attempt committed: nothing to do
    layout = LAYOUTS[kind]
    await _progress(sm, job_id, status="validating", rows_total=0, rows_bad=0, finished_at=None)
    try:
        # The byte stream kept by name: its position is the progress (the text layer reads ahead).
        with (
            path.open("rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh,
        ):
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                await fail(sm, job_id, "the file is empty", 1)
                return "failed"
            try:
                checker = RowChecker(layout, header)
            except HeaderError as exc:
                await fail(sm, job_id, str(exc), 1)
                return "failed"
            size = max(path.stat().st_size, 1)

            async def chunk_done() -> None:
                if on_progress is not None:
                    await on_progress(0.9 * min(1.0, raw.tell() / size))

            await _load(sm, job_id, layout, checker, reader, chunk_rows, principal, ip, chunk_done)
        return "done"
    except UnicodeDecodeError:
        await fail(sm, job_id, f"the file is not valid {encoding}; try encoding=gb18030")
        return "failed"
    except asyncio.CancelledError:
        if durable and not final:
            await _requeue(sm, job_id, "interrupted (worker shutting down); it resumes when a worker is back")
        else:
            await fail(sm, job_id, "the import was interrupted (service shutting down); upload it again")
        raise
    except Exception as exc:  # the job row must leave 'validating'/'loading' whatever happened
        log.exception("import.failed", job_id=job_id)
        if durable and not final:
            await _requeue(sm, job_id, f"internal error ({type(exc).__name__}); it will be retried")
            raise
        await fail(sm, job_id, f"internal error ({type(exc).__name__}); nothing was loaded")
        if durable:
            raise
        return "failed"


async def _requeue(sm: async_sessionmaker[AsyncSession], job_id: int, reason: str) -> None:
    await _progress(sm, job_id, status="queued", errors=[{"line": None, "reason": reason}])


async def _load(
    sm: async_sessionmaker[AsyncSession],
    job_id: int,
    layout: Layout,
    checker: RowChecker,
    reader: Iterator[list[str]],
    chunk_rows: int,
    principal: Principal,
    ip: str | None,
    chunk_done: Callable[[], Awaitable[None]],
) -> None:
    stage = f"import_stage_{job_id}"
    lines = LineCounter(reader)
    totals = {"good": 0, "bad": 0}
    errors: list[dict[str, object]] = []
    reasons: quality.Reasons = quality.Reasons()
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
                reasons.update(chunk.reasons)
                await _progress(sm, job_id, rows_total=totals["good"] + totals["bad"], rows_bad=totals["bad"])
                await chunk_done()
                if chunk.data:
                    yield chunk.data
                if chunk.done:
                    return

        await raw.copy_to_table(stage, source=source(), columns=["line_no", *checker.targets], format="csv")
        await _progress(sm, job_id, status="loading")
        await session.execute(text(f"ANALYZE {stage}"))
        present = set(checker.targets)
        sql_bad, sql_errors = await merge_sql.run_checks(
            session, layout, stage, present, MAX_ERRORS_KEPT - len(errors), reasons
        )
        errors.extend(sql_errors)
        months = await quality.months_in_load(session, layout, stage)
        changed = await merge_sql.merge(session, layout, stage, present)
        rows_total = totals["good"] + totals["bad"]
        rows_bad = totals["bad"] + sql_bad
        errors.sort(key=_line_of)
        report = quality.report(
            rows_total=rows_total, rows_bad=rows_bad, rows_changed=changed, reasons=reasons, months=months
        )
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                status="done",
                rows_total=rows_total,
                rows_ok=rows_total - rows_bad,
                rows_bad=rows_bad,
                rows_changed=changed,
                errors=errors,
                finished_at=func.now(),
                quality=report,
            )
        )
        await audit.record(
            session,
            principal=principal,
            action="import.finish",
            object_kind="import",
            object_id=job_id,
            detail={
                "kind": layout.kind,
                "rows_ok": rows_total - rows_bad,
                "rows_bad": rows_bad,
                "rows_changed": changed,
            },
            ip=ip,
        )
    log.info("import.done", job_id=job_id, kind=layout.kind, rows=rows_total, bad=rows_bad, changed=changed)
