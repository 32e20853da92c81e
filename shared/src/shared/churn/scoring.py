"""Nightly churn scoring: every active customer gets a score, warning coefficient, risk level and
top factors in `customer_profiles`.

Memory stays flat: customers are processed in keyset chunks of `chunk` ids; each chunk is one
aggregate query (features.sql), a vectorised numpy scoring, a binary COPY into a temp table and
one INSERT … SELECT … ON CONFLICT that touches only the churn columns (other engine stages own the
rest of the profile). Two chunks run at a time, so one aggregates in Postgres while the other
is scored (two chunks in memory at most). Each chunk's write is its own short transaction, so a crashed run is simply
rerun; a rerun with the same model and data rewrites nothing (unchanged scores are skipped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import date, datetime

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.churn import features as feat
from shared.churn import registry
from shared.churn.model import RISK_LEVELS, ChurnArtifact
from shared.churn.pipeline import cpu_limits
from shared.db import native
from shared.db.transactions import own_transaction
from shared.engine.watermarks import declare_reader, last_pass, record_pass, watermark_instant
from shared.logging import get_logger

log = get_logger(__name__)
TOP_K = 3
WATERMARK = "churn"

# Every customer whose churn inputs (features.sql reads these five tables) changed since :since:
# each table's updated_at is stamped on insert and by the feeds on change, and BRIN-indexed.
_CHANGED = """
SELECT id FROM customers WHERE updated_at >= :since
UNION SELECT customer_id FROM monthly_usage WHERE updated_at >= :since
UNION SELECT customer_id FROM complaints WHERE updated_at >= :since
UNION SELECT customer_id FROM competitor_calls WHERE updated_at >= :since
UNION SELECT customer_id FROM handsets WHERE updated_at >= :since
ORDER BY 1
"""

_TEMP = """
CREATE TEMP TABLE churn_scores_tmp (
    customer_id bigint, churn_score float8, warning float8, risk text, uplift float8,
    f1 text, v1 float8, w1 float8, f2 text, v2 float8, w2 float8, f3 text, v3 float8, w3 float8
) ON COMMIT DROP
"""
_COLUMNS = (
    "customer_id",
    "churn_score",
    "warning",
    "risk",
    "uplift",
    "f1",
    "v1",
    "w1",
    "f2",
    "v2",
    "w2",
    "f3",
    "v3",
    "w3",
)
_UPSERT = """
INSERT INTO customer_profiles (customer_id, churn_score, warning_coefficient, risk_level, uplift_score,
                               top_factors, model_version, updated_at, four_high, scored_at)
SELECT t.customer_id, t.churn_score, t.warning, t.risk, t.uplift,
       to_jsonb(array_remove(ARRAY[
           CASE WHEN t.f1 IS NOT NULL THEN jsonb_build_object('factor', t.f1, 'value', t.v1, 'weight', t.w1) END,
           CASE WHEN t.f2 IS NOT NULL THEN jsonb_build_object('factor', t.f2, 'value', t.v2, 'weight', t.w2) END,
           CASE WHEN t.f3 IS NOT NULL THEN jsonb_build_object('factor', t.f3, 'value', t.v3, 'weight', t.w3) END
       ], NULL)),
       :version, now(), '[]'::jsonb, now()
FROM churn_scores_tmp t
ON CONFLICT (customer_id) DO UPDATE SET
    churn_score = EXCLUDED.churn_score,
    warning_coefficient = EXCLUDED.warning_coefficient,
    risk_level = EXCLUDED.risk_level,
    uplift_score = EXCLUDED.uplift_score,
    top_factors = EXCLUDED.top_factors,
    model_version = EXCLUDED.model_version,
    updated_at = EXCLUDED.updated_at,
    scored_at = EXCLUDED.scored_at
-- an unchanged score is not rewritten: no dead row, no index churn, nothing for the WAL
WHERE (customer_profiles.churn_score, customer_profiles.warning_coefficient, customer_profiles.risk_level,
       customer_profiles.uplift_score, customer_profiles.top_factors, customer_profiles.model_version)
      IS DISTINCT FROM
      (EXCLUDED.churn_score, EXCLUDED.warning_coefficient, EXCLUDED.risk_level, EXCLUDED.uplift_score,
       EXCLUDED.top_factors, EXCLUDED.model_version)
"""


def _records(art: ChurnArtifact, frame: feat.Frame) -> list[tuple]:
    """Score a chunk and lay it out as COPY records (CPU only; runs in a worker thread)."""
    with cpu_limits():
        raw, warning, level = art.score(frame.X)
        idx, w = art.top_factors(frame.X, TOP_K)
    names = np.array(art.feature_names, dtype=object)
    values = np.round(np.take_along_axis(frame.X, idx, axis=1), 3)
    keep = w > 0
    fnames = names[idx]
    fnames[~keep] = None
    vals = values.astype(object)
    vals[np.isnan(values) | ~keep] = None  # NaN is not JSON: an unknown value is null
    weights = np.round(w, 3).astype(object)
    weights[~keep] = None
    risk = np.array(RISK_LEVELS, dtype=object)[level]
    with cpu_limits():
        up = art.uplift_scores(frame.X)
    uplift_col = np.round(up, 6).tolist() if up is not None else [None] * len(frame)
    cols = [frame.ids.tolist(), np.round(raw, 6).tolist(), warning.tolist(), risk.tolist(), uplift_col]
    for k in range(idx.shape[1]):
        cols += [fnames[:, k].tolist(), vals[:, k].tolist(), weights[:, k].tolist()]
    for _ in range(idx.shape[1], TOP_K):
        cols += [[None] * len(frame)] * 3
    return list(zip(*cols, strict=True))


async def usable_model(session: AsyncSession) -> tuple[int, ChurnArtifact] | None:
    """The active model, unless there is none or it was trained on another feature set."""
    active = await registry.load_active(session)
    if active is not None and active[1].feature_names != list(feat.FEATURES):
        log.warning("churn.model_stale", model_version=active[0], reason="feature set changed since training")
        return None
    return active


async def start_training_if_needed(sm: async_sessionmaker[AsyncSession]) -> asyncio.Task[int] | None:
    """When scoring will need a first model, start training it now, as a task of its own.

    A first install trains for most of a minute at 1M customers (mostly numpy on this process's
    cores, after two history frames in PostgreSQL), while the stages before churn (features,
    tiers) keep PostgreSQL busy: run side by side, each uses the cores the other leaves. Training
    reads only history (usage, complaints, calls, handsets and the customers' join, contract and
    churn dates), which those stages never write, so the model is the one a later start would
    train. None when the active model is usable (a normal night)."""
    async with sm() as s:
        if await usable_model(s) is not None:
            return None
        last = await feat.latest_month(s)
    if last is None:
        return None
    return asyncio.create_task(registry.train(sm, activate=True, latest=last), name="churn.training")


async def _write(session: AsyncSession, records: list[tuple], version: int) -> None:
    await session.execute(text(_TEMP))
    conn = await session.connection()
    raw = await native.driver_connection(
        conn
    )  # raw asyncpg COPY, inside the caller's transaction (shared.db.transactions)
    await raw.copy_records_to_table("churn_scores_tmp", records=records, columns=_COLUMNS)
    await session.execute(text(_UPSERT), {"version": version})


async def _bounds(sm: async_sessionmaker[AsyncSession], chunk: int) -> list[tuple[int, int]]:
    """Keyset chunks (lo, hi] of `chunk` customers each: an index-only walk, a query per chunk."""
    out: list[tuple[int, int]] = []
    lo = -(2**62)
    async with sm() as s:
        while (hi := await feat.next_bound(s, after=lo, chunk=chunk)) is not None:
            out.append((lo, hi))
            lo = hi
    return out


async def _begin_read(s: AsyncSession) -> None:
    """A scoring chunk's read transaction: read-only (pass watermarks do not wait for it), bounded,
    no parallel workers (chunks already run one per core)."""
    await declare_reader(s)
    await s.execute(text("SET LOCAL statement_timeout = '300s'"))
    await s.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


async def _read(sm: async_sessionmaker[AsyncSession], *, lo: int, hi: int, cutoff: date) -> feat.Frame:
    """One chunk's features, read in its own short transaction. No parallel workers: chunks
    already run one per core."""
    async with sm() as s:
        await _begin_read(s)
        await s.execute(text("SET LOCAL work_mem = '64MB'"))
        frame = await feat.fetch_chunk(s, lo=lo, hi=hi, cutoff=cutoff, mode="score")
        await s.rollback()
    return frame


async def _score_and_write(
    sm: async_sessionmaker[AsyncSession], art: ChurnArtifact, frame: feat.Frame, version: int
) -> int:
    """Score outside any transaction (a slow chunk on a busy machine must not trip
    idle_in_transaction_session_timeout), then write in one short transaction."""
    records = await asyncio.to_thread(_records, art, frame)
    async with own_transaction(sm) as s:
        await s.execute(text("SET LOCAL statement_timeout = '300s'"))
        await _write(s, records, version)
    return len(records)


async def score_all(
    sm: async_sessionmaker[AsyncSession],
    *,
    run_id: int | None = None,
    cutoff: date | None = None,
    chunk: int = 100_000,
    parallel: int = 2,
    incremental: bool = False,
    training: Awaitable[int] | None = None,
) -> int:
    """Score every active customer with the active model (training and activating one first if
    none is active, or if the active one was trained on another feature set); returns the number
    of profiles written. `training`: a training the caller started already (see
    `start_training_if_needed`), awaited first.

    `incremental`: when the last complete pass used the same model and cut-off month, score only
    the customers whose input rows changed since it started (see `changed_since`); a score
    depends on nothing else, so the result equals a full pass. Otherwise a full pass.

    `cutoff` is the usage month the features describe (default: the latest month in
    monthly_usage). Raises registry.NoChurnHistory when no model is active and none can be
    trained. Safe to rerun; concurrent runs only repeat the same writes.
    """
    started = time.perf_counter()
    if training is not None:
        await training  # the engine started it with the run; raises what train() raises
    async with sm() as s:
        active = await usable_model(s)
        last = cutoff or await feat.latest_month(s)
    if active is None:
        await registry.train(sm, activate=True, latest=last)
        async with sm() as s:
            active = await registry.load_active(s)
        if active is None:  # another process activated nothing in between: nothing to score with
            raise registry.NoChurnHistory("no active churn model after training")
    version, art = active
    if last is None:
        return 0
    key = {"model_version": version, "cutoff": last.isoformat()}
    async with sm() as s:
        pass_started = await watermark_instant(s)
        since = await last_pass(s, WATERMARK, key) if incremental else None
    if since is not None:
        written = await _score_changed(sm, art, version, last, since, chunk, parallel)
        log.info(
            "churn.scored_incremental", rows=written, since=since.isoformat(), model_version=version, run_id=run_id
        )
        await record_pass(sm, WATERMARK, pass_started, key)
        return written
    # Two chunks at a time (one per core): while one chunk's features aggregate in Postgres, the
    # other is scored (numpy, worker thread) and written; at most two chunks are in memory.
    gate = asyncio.Semaphore(parallel)

    async def one(lo: int, hi: int) -> int:
        async with gate:
            frame = await _read(sm, lo=lo, hi=hi, cutoff=last)
            return await _score_and_write(sm, art, frame, version) if len(frame) else 0

    written = sum(await asyncio.gather(*(one(lo, hi) for lo, hi in await _bounds(sm, chunk))))
    await record_pass(sm, WATERMARK, pass_started, key)
    log.info(
        "churn.scored",
        rows=written,
        model_version=version,
        run_id=run_id,
        cutoff=str(last),
        seconds=round(time.perf_counter() - started, 1),
    )
    return written


async def changed_since(sm: async_sessionmaker[AsyncSession], since: datetime) -> list[int]:
    """Ids of customers whose churn inputs changed since `since` (one set-based statement)."""
    async with sm() as s:
        return list((await s.scalars(text(_CHANGED), {"since": since})).all())


async def _score_changed(
    sm: async_sessionmaker[AsyncSession],
    art: ChurnArtifact,
    version: int,
    cutoff: date,
    since: datetime,
    chunk: int,
    parallel: int,
) -> int:
    """Score only the changed customers, in chunks of `chunk` ids (two at a time, as a full pass)."""
    ids = await changed_since(sm, since)
    gate = asyncio.Semaphore(parallel)

    async def one(part: list[int]) -> int:
        async with gate:
            async with sm() as s:
                await _begin_read(s)
                frame = await feat.fetch_chunk(s, lo=part[0] - 1, hi=part[-1], cutoff=cutoff, mode="score", ids=part)
                await s.rollback()
            return await _score_and_write(sm, art, frame, version) if len(frame) else 0

    parts = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    return sum(await asyncio.gather(*(one(p) for p in parts)))
