"""Model registry on `churn_models`: train from history, evaluate out of time, list, compare, activate.

Training protocol (horizon h months, latest usage month L):
- evaluation: fit on the frame at cut-off L-2h (label: churn in the h months after it), score
  the frame at cut-off L-h, a later period the model has never seen (out-of-time). The two label
  windows do not overlap, so no outcome the test period asks about is used in training.
- production: the same configuration refitted on the frame at L-h (the latest fully labelled one).
- the stored metrics are the out-of-time ones; the factor ranking (information gain) is computed
  on the production frame.
Only one training runs at a time (session-level advisory lock held outside any transaction, so the
long CPU part does not keep a transaction open).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.churn import features as feat
from shared.churn import uplift
from shared.churn.factors import rank_factors
from shared.churn.model import ChurnArtifact, fit_artifact
from shared.churn.pipeline import (
    CANDIDATE_BY_NAME,
    CANDIDATES,
    ModelConfig,
    cpu_limits,
    default_threads,
    limit_heap_growth,
    parallel_folds,
    ranking_metrics,
)
from shared.churn.pipeline import select as select_model
from shared.db.locking import Lock, advisory_lock, lock_held, session_unlock, try_session_lock
from shared.db.transactions import own_transaction
from shared.engine.watermarks import declare_reader
from shared.errors import Conflict, NotFound
from shared.logging import get_logger
from shared.models import ChurnModel
from shared.settings import get_settings

log = get_logger(__name__)

AUTO_CANDIDATES = tuple(c.name for c in CANDIDATES)  # the evaluator's: one choice, one figure
SELECTION_ROWS = 30_000


class NoChurnHistory(Conflict):
    """Not enough usage months or churn events to train a model."""

    code = "no_churn_history"


class TrainingInProgress(Conflict):
    """Another process is training a churn model right now."""

    code = "training_in_progress"


async def training_in_progress(session: AsyncSession) -> bool:
    """Whether some connection to this database holds the training lock."""
    return await lock_held(session, Lock.CHURN_TRAINING)


def _choose(X: np.ndarray, y: np.ndarray, candidate: str) -> tuple[ModelConfig, np.ndarray | None, dict]:
    """Pick with `pipeline.select` (the evaluator's choice) by 3-fold CV on the training frame
    only (on a random SELECTION_ROWS sample when it is larger: the ranking of candidates settles
    long before that). Returns the config, its out-of-fold probabilities when they cover the
    whole frame (reused for calibration) and every candidate's CV AUC."""
    names = AUTO_CANDIDATES if candidate == "auto" else (candidate,)
    rows = np.arange(len(y))
    if len(names) > 1 and len(y) > SELECTION_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(y), SELECTION_ROWS, replace=False))
    sel = select_model([CANDIDATE_BY_NAME[n] for n in names], X[rows], y[rows], X.shape[1], 0, folds=3)
    oof = sel.best.oof if len(rows) == len(y) else None
    return sel.chosen, oof, {r.config: round(r.auc_mean, 4) for r in sel.results}


def _fit_and_evaluate(
    train: feat.Frame,
    test: feat.Frame,
    final: feat.Frame,
    *,
    candidate: str,
    capacity: float,
    high_share: float,
    medium_share: float,
    arm: np.ndarray | None = None,
) -> tuple[ChurnArtifact, dict, list]:
    """CPU part (runs in a worker thread). `arm` marks the final frame's campaign members
    (1 treated, 0 hold-out, -1 neither): with enough of both, an uplift model joins the artifact."""
    jobs = get_settings().churn_train_jobs or default_threads()
    with cpu_limits(), parallel_folds(jobs):
        artifact, metrics, ranking = _fit_and_evaluate_unlimited(
            train, test, final, candidate=candidate, capacity=capacity, high_share=high_share, medium_share=medium_share
        )
        if arm is not None and uplift.usable(final.y, arm):
            started = time.perf_counter()
            artifact.uplift, metrics["uplift"] = uplift.fit(final.X, final.y, arm, final.ids)
            metrics["seconds"]["uplift"] = round(time.perf_counter() - started, 2)
        return artifact, metrics, ranking


def _fit_and_evaluate_unlimited(
    train: feat.Frame,
    test: feat.Frame,
    final: feat.Frame,
    *,
    candidate: str,
    capacity: float,
    high_share: float,
    medium_share: float,
) -> tuple[ChurnArtifact, dict, list]:
    names = list(feat.FEATURES)
    n = len(names)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[phase] = round(now - clock, 2)
        clock = now

    config, oof, cv = _choose(train.X, train.y.astype(np.int64), candidate)
    lap("select")
    evaluator = fit_artifact(
        config,
        train.X,
        train.y.astype(np.int64),
        feature_names=names,
        n_num=n,
        n_cat=0,
        oof=oof,
        calibration_folds=3,
        high_share=high_share,
        medium_share=medium_share,
    )
    raw, warning, level = evaluator.score(test.X)
    lap("evaluate")
    metrics = ranking_metrics(test.y.astype(np.int64), raw, capacity=capacity)
    metrics.update(
        {
            "brier_calibrated": float(np.mean((warning / 100.0 - test.y) ** 2)),
            "high_risk_churn_rate": float(test.y[level == 2].mean()) if (level == 2).any() else None,
            "train_rows": len(train),
            "test_rows": len(test),
            "train_churners": int(train.y.sum()),
            "test_churners": int(test.y.sum()),
            "selection_cv_auc": cv,
        }
    )
    artifact = fit_artifact(
        config,
        final.X,
        final.y.astype(np.int64),
        feature_names=names,
        n_num=n,
        n_cat=0,
        calibration_folds=3,
        high_share=high_share,
        medium_share=medium_share,
    )
    lap("fit")
    ranking = rank_factors(names, [final.X[:, j] for j in range(n)], ["numeric"] * n, final.y)
    lap("factors")
    metrics["seconds"] = seconds  # where a training's time goes (the bench prints it)
    return artifact, metrics, ranking


async def train(
    sm: async_sessionmaker[AsyncSession],
    *,
    horizon: int = 2,
    candidate: str = "auto",
    activate: bool = False,
    latest: date | None = None,
    max_rows: int = 200_000,
    capacity: float = 0.05,
    high_share: float = 0.05,
    medium_share: float = 0.20,
) -> int:
    """Train, evaluate out of time and register a model; returns its version.

    `latest` is the last month with complete usage (default: max(monthly_usage.month)). Raises
    NoChurnHistory when a frame lacks churners, TrainingInProgress when another training holds the
    lock, NotFound for an unknown candidate. Commits its own short transaction for the insert.
    """
    if candidate != "auto" and candidate not in CANDIDATE_BY_NAME:
        raise NotFound("unknown candidate model", candidate=candidate)
    limit_heap_growth()  # the fits' large arrays go back to the OS when freed (see pipeline)
    async with sm() as guard:
        conn = await guard.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        if not await try_session_lock(conn, Lock.CHURN_TRAINING):
            raise TrainingInProgress("a churn model is being trained already")
        try:
            return await _train_locked(
                sm,
                horizon=horizon,
                candidate=candidate,
                activate=activate,
                latest=latest,
                max_rows=max_rows,
                capacity=capacity,
                high_share=high_share,
                medium_share=medium_share,
            )
        finally:
            await session_unlock(conn, Lock.CHURN_TRAINING)


async def _train_locked(
    sm: async_sessionmaker[AsyncSession],
    *,
    horizon: int,
    candidate: str,
    activate: bool,
    latest: date | None,
    max_rows: int,
    capacity: float,
    high_share: float,
    medium_share: float,
) -> int:
    started = time.perf_counter()
    async with sm() as s:
        await declare_reader(s)  # open through both frames: the night's watermarks must not wait for it
        await s.execute(text("SET LOCAL statement_timeout = '600s'"))
        last = latest or await feat.latest_month(s)
        first = await feat.first_month(s)
        if last is None or first is None:
            raise NoChurnHistory("no monthly usage to learn from")
        test_cut = feat.add_months(last, -horizon)
        train_cut = max(feat.add_months(test_cut, -horizon), feat.add_months(first, 1))

        async def frame(cutoff: date) -> feat.Frame:
            """One labelled window on its own connection, so the two windows' SQL runs side by side
            (each is a pass over every customer: 16 s apiece at 1M)."""
            async with sm() as fs:
                await declare_reader(fs)
                await fs.execute(text("SET LOCAL statement_timeout = '600s'"))
                return await feat.training_frame(fs, cutoff=cutoff, horizon=horizon, max_rows=max_rows)

        if train_cut < test_cut:
            test_frame, train_frame = await asyncio.gather(frame(test_cut), frame(train_cut))
        else:
            test_frame = await frame(test_cut)
            train_frame = test_frame.subset(np.zeros(len(test_frame), dtype=bool))
        arm = await uplift.campaign_arms(s, test_frame.ids, cutoff=test_cut, horizon=horizon)
        await s.rollback()
    frames_s = time.perf_counter() - started
    if not _usable(test_frame):
        raise NoChurnHistory(
            "the latest labelled window needs at least 10 churners and 10 stayers",
            cutoff=test_cut.isoformat(),
            rows=len(test_frame),
            churners=int(test_frame.y.sum()),
        )
    evaluation = "out-of-time"
    fit_on, score_on = train_frame, test_frame
    if not _usable(train_frame):
        # No earlier labelled window with enough churn (a short history, or churn only in the
        # latest months): evaluate on customers held out of the same window instead, and say so
        # in the metrics. The demo generator dates churn over its last four months, so its
        # default 7-month city gets the out-of-time split.
        held = (test_frame.ids * 2654435761 % 10) >= 7
        fit_on, score_on = test_frame.subset(~held), test_frame.subset(held)
        evaluation = "held-out customers, same window (no earlier churn to test out of time)"
    artifact, metrics, ranking = await asyncio.to_thread(
        _fit_and_evaluate,
        fit_on,
        score_on,
        test_frame,
        candidate=candidate,
        capacity=capacity,
        high_share=high_share,
        medium_share=medium_share,
        arm=arm,
    )
    metrics.update(
        {
            "evaluation": evaluation,
            "horizon_months": horizon,
            "train_cutoff": train_cut.isoformat(),
            "test_cutoff": test_cut.isoformat(),
            "overlapping_windows": feat.add_months(train_cut, horizon) > test_cut,
        }
    )
    metrics["seconds"] = {"frames": round(frames_s, 2), **metrics["seconds"]}
    blob = artifact.dumps()
    async with own_transaction(sm) as s:
        await advisory_lock(s, Lock.CHURN_VERSION)
        version = int(await s.scalar(select(func.coalesce(func.max(ChurnModel.version), 0))) or 0) + 1
        s.add(
            ChurnModel(
                version=version,
                algorithm=artifact.config.name,
                train_from=feat.add_months(test_cut, -5),
                train_to=feat.add_months(test_cut, horizon + 1) - timedelta(days=1),
                features=list(feat.FEATURES),
                metrics=_json_safe(metrics),
                factor_ranking=ranking,
                artifact=blob,
                active=False,
            )
        )
        await s.flush()
        if activate:
            await _activate(s, version)
    log.info(
        "churn.trained",
        version=version,
        algorithm=artifact.config.name,
        roc_auc=round(metrics["roc_auc"], 4),
        top_decile_lift=round(metrics["top_decile_lift"], 2),
        seconds=metrics["seconds"],
    )
    return version


def _usable(frame: feat.Frame) -> bool:
    churners = int(frame.y.sum())
    return len(frame) >= 50 and churners >= 10 and len(frame) - churners >= 10


def _json_safe(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


async def _activate(session: AsyncSession, version: int) -> None:
    result = await session.execute(
        update(ChurnModel).values(active=ChurnModel.version == version).returning(ChurnModel.version, ChurnModel.active)
    )
    if not any(active for _, active in result.all()):
        raise NotFound("no such churn model", version=version)


async def activate(session: AsyncSession, version: int) -> None:
    """Make `version` the only active model, in the caller's transaction.

    One UPDATE over every row: concurrent activations serialise on the row locks and the last one
    wins, so exactly one model stays active. Raises NotFound (and the caller rolls back) for an
    unknown version.
    """
    await _activate(session, version)


def _summary(m: ChurnModel) -> dict:
    return {
        "version": m.version,
        "algorithm": m.algorithm,
        "active": m.active,
        "created_at": m.created_at,
        "train_from": m.train_from,
        "train_to": m.train_to,
        "features": m.features,
        "metrics": m.metrics,
        "factor_ranking": m.factor_ranking[:10],
    }


_COLUMNS = (
    ChurnModel.version,
    ChurnModel.algorithm,
    ChurnModel.active,
    ChurnModel.created_at,
    ChurnModel.train_from,
    ChurnModel.train_to,
    ChurnModel.features,
    ChurnModel.metrics,
    ChurnModel.factor_ranking,
)


async def list_models(session: AsyncSession) -> list[dict]:
    """Newest first, without the artifact bytes."""
    rows = (await session.execute(select(*_COLUMNS).order_by(ChurnModel.version.desc()))).all()
    return [_summary(r) for r in rows]  # type: ignore[arg-type]


async def get(session: AsyncSession, version: int) -> dict:
    row = (await session.execute(select(*_COLUMNS).where(ChurnModel.version == version))).first()
    if row is None:
        raise NotFound("no such churn model", version=version)
    return _summary(row)  # type: ignore[arg-type]


async def compare(session: AsyncSession, versions: list[int]) -> dict:
    """Metrics side by side, with each one's difference from the first version listed."""
    models = [await get(session, v) for v in versions]
    keys = ("roc_auc", "top_decile_lift", "precision_at_capacity", "brier_calibrated")
    base = models[0]["metrics"]
    return {
        "versions": versions,
        "models": [
            {
                "version": m["version"],
                "algorithm": m["algorithm"],
                "active": m["active"],
                "metrics": {k: m["metrics"].get(k) for k in keys},
                "delta_vs_first": {
                    k: (
                        None
                        if m["metrics"].get(k) is None or base.get(k) is None
                        else round(m["metrics"][k] - base[k], 4)
                    )
                    for k in keys
                },
                "top_factors": [f["factor"] for f in m["factor_ranking"][:5]],
            }
            for m in models
        ],
    }


async def load_active(session: AsyncSession) -> tuple[int, ChurnArtifact] | None:
    row = (
        await session.execute(
            select(ChurnModel.version, ChurnModel.artifact)
            .where(ChurnModel.active.is_(True))
            .order_by(ChurnModel.version.desc())
            .limit(1)
        )
    ).first()
    if row is None or row.artifact is None:
        return None
    return row.version, await asyncio.to_thread(ChurnArtifact.loads, row.artifact)
