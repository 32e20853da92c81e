"""The modelling pipeline: candidate models, leak-free cross-validation, the choice between them
and the ranking metrics.

Every estimator here takes the object matrix of `Table.matrix()` (numeric columns first, then
categorical) and carries its own preprocessing (imputation, scaling, encoding) inside the
estimator, so cross-validation refits the preprocessing on each training fold and the held-out
fold never informs a median, a scale, a category list or a target mean. Nothing is resampled.

Categorical columns with more than HIGH_CARDINALITY levels (service areas, states) are never
split level by level nor one-hot encoded: with ~70 rows a level a tree memorises the levels'
noise (issue 19: a 748-level column cost 0.026 AUC). They become an out-of-fold target encoding
plus the level's frequency (`hgb`, `logreg`) or plain ordinal codes (`reference`); which wins is
decided by the same CV as everything else.

`reference` is the plain baseline of issue 19 (HistGradientBoostingClassifier with default
settings on ordinal codes) and always a candidate, so the choice can never be worse than it on
the CV that makes the choice. The evaluator and the nightly trainer choose with `select` over
the same CANDIDATES and fit with the same `build`: the figure reported is the model trained.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

CPU_THREADS = 1
HIGH_CARDINALITY = 30  # more levels than this: encoded so the levels cannot be memorised
TARGET_SMOOTHING = 20.0  # m-estimate: a level's churn rate is shrunk towards the prior by m pseudo-rows
_threads: ContextVar[int] = ContextVar("churn_threads", default=CPU_THREADS)
_jobs: ContextVar[int] = ContextVar("churn_jobs", default=1)


@contextmanager
def cpu_limits(threads: int | None = None) -> Iterator[None]:
    """Native thread pools (OpenMP in HGB, BLAS) capped at CPU_THREADS (1) for fits and
    predictions. On a small machine shared with Postgres, the APIs and other users, OpenMP's
    spin-waiting under oversubscription turned a 20-second fit into minutes (a 3-second HGB fit
    took 10 CPU-seconds on two threads). More cores are used by fitting folds side by side
    instead (`parallel_folds`)."""
    n = max(1, threads or _threads.get())
    token = _threads.set(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        _threads.reset(token)


@contextmanager
def parallel_folds(jobs: int) -> Iterator[None]:
    """Let cross-validation fit up to `jobs` folds at once, in threads sharing the data (the
    fits release the GIL in their native loops), each single-threaded. The nightly run keeps 1."""
    token = _jobs.set(max(1, jobs))
    try:
        yield
    finally:
        _jobs.reset(token)


_sharing = 0  # other work of this process running now (engine stages beside a training)
_sharing_lock = threading.Lock()


@contextmanager
def cores_shared() -> Iterator[None]:
    """Marks work of this process that keeps the cores busy meanwhile (the engine's stages beside
    a first model's training): linear fits started inside it stay on one BLAS thread."""
    global _sharing
    with _sharing_lock:
        _sharing += 1
    try:
        yield
    finally:
        with _sharing_lock:
            _sharing -= 1


@contextmanager
def linear_alone(kind: str) -> Iterator[None]:
    """A linear fit with nothing fitting beside it may use the `parallel_folds` cores for its
    BLAS calls (the Newton solver's Hessian products: a 200k-row spline fit 5.3 s on one thread,
    3.5 s on two). Only BLAS, and only where nothing shares the cores: no tree fit beside it, and
    no engine stage (`cores_shared`) — a parallel BLAS call waits for its slowest thread, and
    next to two busy PostgreSQL backends the 1M city's evaluation took 36–41 s on two threads
    against 15 s alone. Anything else keeps the caller's limits."""
    jobs = _jobs.get()
    if kind != "logreg" or jobs <= 1 or _sharing:
        yield
        return
    with threadpool_limits(limits=jobs, user_api="blas"):
        yield


def default_threads() -> int:
    """Cores this process may use, at most 2 (the machines are 2-core; more buys little here)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(2, n))


def limit_heap_growth() -> None:
    """glibc only: a fixed 1 MB mmap threshold and two malloc arenas. By default glibc raises
    the threshold after each large free, so the folds' numpy arrays land on a heap that is never
    given back, and every worker thread gets its own arena: a 51k x 58 evaluation peaked at
    620 MB, 470 MB with this. No effect elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


class AllMissingToZero(TransformerMixin, BaseEstimator):
    """Float cast, and columns that were entirely missing at fit time become 0: HGB's binning
    cannot fit a feature with no value at all (e.g. satisfaction in a city with no complaints)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> AllMissingToZero:
        self.empty_ = np.all(np.isnan(as_float(X)), axis=0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = as_float(X).copy()
        out[:, self.empty_] = 0.0
        return out


def _levels(col: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a categorical column (its cells are str; a set over interned
    strings is far cheaper than sorting every cell)."""
    return np.array(sorted(set(np.asarray(col, dtype=object).tolist())), dtype=object)


def _codes(col: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index of each value in `levels` (float), NaN for a value not among them."""
    index = {v: i for i, v in enumerate(levels.tolist())}
    # map() over a dict's get is the fastest pure-Python lookup; None (unknown) becomes NaN
    return np.array(list(map(index.get, np.asarray(col, dtype=object).tolist())), dtype=np.float64)


def _inverse(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    levels = _levels(col)
    return levels, _codes(col, levels).astype(np.int64)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class HighCardinalityEncoder(TransformerMixin, BaseEstimator):
    """Two numbers per column: the level's smoothed churn log-odds and log share of rows.

    `fit_transform` encodes the training rows out of fold (each row's level statistics come from
    the other folds), so the model downstream never sees a row's own label in its feature; new
    rows are encoded with the statistics of all training rows. Unknown levels get the prior."""

    def __init__(self, folds: int = 5, smoothing: float = TARGET_SMOOTHING) -> None:
        self.folds, self.smoothing = folds, smoothing

    def _stats(self, inv: np.ndarray, y: np.ndarray, k: int, prior: float) -> np.ndarray:
        n = np.bincount(inv, minlength=k).astype(np.float64)
        pos = np.bincount(inv, weights=y, minlength=k)
        return _logit((pos + self.smoothing * prior) / (n + self.smoothing))

    def fit(self, X: np.ndarray, y: np.ndarray) -> HighCardinalityEncoder:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: np.ndarray, y: np.ndarray | None = None, **_: object) -> np.ndarray:
        if y is None:
            raise ValueError("target encoding needs the label")
        X = np.asarray(X, dtype=object)
        y = np.asarray(y, dtype=np.float64)
        self.prior_, self.rows_ = float(y.mean()), len(y)
        self.levels_, self.te_, self.freq_ = [], [], []
        out = np.empty((len(y), 2 * X.shape[1]), dtype=np.float64)
        splits: list = []
        if len(y) >= 2 * self.folds:  # stratified when each class can fill every fold
            cv = StratifiedKFold if min(y.sum(), len(y) - y.sum()) >= self.folds else KFold
            splits = list(cv(self.folds, shuffle=True, random_state=0).split(X, y))
        for j in range(X.shape[1]):
            levels, inv = _inverse(X[:, j])
            k = len(levels)
            te_all = self._stats(inv, y, k, self.prior_)
            freq = np.log((np.bincount(inv, minlength=k) + 1.0) / (len(y) + k))
            self.levels_.append(levels)
            self.te_.append(te_all)
            self.freq_.append(freq)
            te = te_all[inv].copy()
            for train, test in splits:
                te[test] = self._stats(inv[train], y[train], k, float(y[train].mean()))[inv[test]]
            out[:, 2 * j] = te
            out[:, 2 * j + 1] = freq[inv]
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=object)
        out = np.empty((X.shape[0], 2 * X.shape[1]), dtype=np.float64)
        for j, (levels, te, freq) in enumerate(zip(self.levels_, self.te_, self.freq_, strict=False)):
            code = _codes(X[:, j], levels)
            known = ~np.isnan(code)
            idx = np.where(known, code, 0).astype(np.int64)
            out[:, 2 * j] = np.where(known, te[idx], _logit(np.array([self.prior_]))[0])
            out[:, 2 * j + 1] = np.where(known, freq[idx], np.log(1.0 / (self.rows_ + len(levels))))
        return out

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        names = list(input_features) if input_features is not None else [f"x{j}" for j in range(len(self.levels_))]
        return np.array([f"{n}_{part}" for n in names for part in ("target", "freq")], dtype=object)


class CategoryBlock(TransformerMixin, BaseEstimator):
    """The linear model's categorical block: low-cardinality columns one-hot (levels with fewer
    than `min_count` training rows, and unseen ones, pooled into one "infrequent" column),
    high-cardinality ones through HighCardinalityEncoder, as one dense float matrix."""

    def __init__(self, max_levels: int = HIGH_CARDINALITY, min_count: int = 10) -> None:
        self.max_levels, self.min_count = max_levels, min_count

    def fit(self, X: np.ndarray, y: np.ndarray) -> CategoryBlock:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: np.ndarray, y: np.ndarray | None = None, **_: object) -> np.ndarray:
        X = np.asarray(X, dtype=object)
        self.low_, self.high_, self.kept_ = [], [], []
        for j in range(X.shape[1]):
            levels, inv = _inverse(X[:, j])
            if len(levels) > self.max_levels:
                self.high_.append(j)
                continue
            counts = np.bincount(inv, minlength=len(levels))
            self.low_.append(j)
            self.kept_.append(levels[counts >= self.min_count])
        self.high_enc_ = HighCardinalityEncoder() if self.high_ else None
        high = self.high_enc_.fit_transform(X[:, self.high_], y) if self.high_enc_ is not None else None
        return self._assemble(X, high)

    def _assemble(self, X: np.ndarray, high: np.ndarray | None) -> np.ndarray:
        width = sum(len(k) + 1 for k in self.kept_)
        out = np.zeros((len(X), width + (high.shape[1] if high is not None else 0)), dtype=np.float32)
        at = 0
        rows = np.arange(len(X))
        for j, kept in zip(self.low_, self.kept_, strict=False):
            code = _codes(X[:, j], kept)
            code = np.where(np.isnan(code), len(kept), code).astype(np.int64)  # pooled: rare or unseen
            out[rows, at + code] = 1.0
            at += len(kept) + 1
        if high is not None:
            out[:, at:] = high
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=object)
        high = self.high_enc_.transform(X[:, self.high_]) if self.high_enc_ is not None else None
        return self._assemble(X, high)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        names = (
            list(input_features)
            if input_features is not None
            else [f"x{j}" for j in range(len(self.low_) + len(self.high_))]
        )
        out = [
            f"{names[j]}_{level}"
            for j, kept in zip(self.low_, self.kept_, strict=False)
            for level in [*kept, "infrequent"]
        ]
        if self.high_enc_ is not None:
            out += list(self.high_enc_.get_feature_names_out([names[j] for j in self.high_]))
        return np.array(out, dtype=object)


class TabularHGB(ClassifierMixin, BaseEstimator):
    """Gradient boosting on the object matrix. Low-cardinality categoricals are split natively;
    high-cardinality ones go through `high_card`: "target" (HighCardinalityEncoder) or "ordinal"
    (codes used as numbers). `all_ordinal` turns every categorical into ordinal codes used as
    numbers, the missing level included as NaN: the plain reference of issue 19."""

    def __init__(
        self,
        n_num: int = 0,
        n_cat: int = 0,
        high_card: str = "target",
        all_ordinal: bool = False,
        hgb: dict | None = None,
    ) -> None:
        self.n_num, self.n_cat, self.high_card, self.all_ordinal, self.hgb = n_num, n_cat, high_card, all_ordinal, hgb

    def _encode(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        from shared.churn.tabular import MISSING_CATEGORY

        num = as_float(X[:, : self.n_num]).copy()
        num[:, self.empty_] = 0.0
        cat = np.asarray(X[:, self.n_num : self.n_num + self.n_cat], dtype=object)
        parts = [num]
        for j, levels in zip(self.native_, self.native_levels_, strict=False):
            parts.append(_codes(cat[:, j], levels)[:, None])
        for j, levels in zip(self.numeric_codes_, self.numeric_levels_, strict=False):
            code = _codes(cat[:, j], levels)
            if self.all_ordinal:
                code[np.asarray(cat[:, j] == MISSING_CATEGORY)] = np.nan  # "blanks as NaN"
            parts.append(code[:, None])
        if self.high_enc_ is not None:  # set exactly when there are high-cardinality columns
            enc = (
                self.high_enc_.fit_transform(cat[:, self.high_], y)
                if y is not None
                else self.high_enc_.transform(cat[:, self.high_])
            )
            parts.append(enc)
        return np.hstack(parts)

    def fit(self, X: np.ndarray, y: np.ndarray) -> TabularHGB:
        X = np.asarray(X, dtype=object)
        y = np.asarray(y)
        self.empty_ = np.all(np.isnan(as_float(X[:, : self.n_num])), axis=0) if self.n_num else np.zeros(0, bool)
        cat = X[:, self.n_num : self.n_num + self.n_cat]
        levels = [_levels(cat[:, j]) for j in range(self.n_cat)]
        low = [j for j in range(self.n_cat) if len(levels[j]) <= HIGH_CARDINALITY and not self.all_ordinal]
        as_numbers = [
            j for j in range(self.n_cat) if j not in low and (self.all_ordinal or self.high_card == "ordinal")
        ]
        self.native_, self.native_levels_ = low, [levels[j] for j in low]
        self.numeric_codes_, self.numeric_levels_ = as_numbers, [levels[j] for j in as_numbers]
        self.high_ = [j for j in range(self.n_cat) if j not in low and j not in as_numbers]
        self.high_enc_ = HighCardinalityEncoder() if self.high_ else None
        Z = self._encode(X, y)
        mask = np.zeros(Z.shape[1], dtype=bool)
        mask[self.n_num : self.n_num + len(low)] = True
        self.clf_ = HistGradientBoostingClassifier(
            categorical_features=mask if mask.any() else None, random_state=0, **(self.hgb or {})
        ).fit(Z, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.clf_.predict_proba(self._encode(np.asarray(X, dtype=object)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass(frozen=True)
class ModelConfig:
    """A named candidate: `kind` is hgb, logreg or blend (mean of its member candidates'
    probabilities, `params["members"]` naming them)."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)


REFERENCE = "reference"
_HGB = {
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "l2_regularization": 3.0,
    "max_iter": 400,
    "min_samples_leaf": 40,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 15,
    "max_features": 0.5,
}
CANDIDATES: tuple[ModelConfig, ...] = (
    # The plain reference: sklearn's defaults (100 trees, early stopping above 10k rows).
    ModelConfig(REFERENCE, "hgb", {"all_ordinal": True, "hgb": {}}),
    ModelConfig("logreg", "logreg", {"C": 0.1, "splines": True}),
    # no splines: on a few thousand rows with dozens of numeric columns the spline basis overfits
    ModelConfig("logreg_plain", "logreg", {"C": 0.3}),
    ModelConfig("hgb", "hgb", {"high_card": "target", "hgb": _HGB}),
    ModelConfig("blend", "blend", {"members": ("hgb", "logreg")}),
)
_LEGACY_HGB = {
    "learning_rate": 0.08,
    "max_leaf_nodes": 12,
    "l2_regularization": 3.0,
    "max_iter": 150,
    "min_samples_leaf": 80,
}
EXTRA_CANDIDATES: tuple[ModelConfig, ...] = (
    # Not chosen automatically; kept so a named training (`--candidate`) and old requests work.
    ModelConfig("hgb_ordinal", "hgb", {"high_card": "ordinal", "hgb": _HGB}),
    ModelConfig("hgb_fast", "hgb", {"hgb": _LEGACY_HGB}),
    ModelConfig("blend_fast", "blend", {"members": ("hgb_fast", "logreg_plain")}),
)
CANDIDATE_BY_NAME = {c.name: c for c in CANDIDATES + EXTRA_CANDIDATES}


class NumericBlock(TransformerMixin, BaseEstimator):
    """The linear model's numeric block, as float32 (half the memory; the Newton solver keeps
    it): median imputation with a missing indicator for each column that had gaps, optionally a
    cubic B-spline basis per column (smooth non-linear effects), then standardisation. The
    splines are built a few columns at a time, so a wide table never holds a float64 copy of the
    whole basis."""

    GROUP = 8

    def __init__(self, splines: bool = False) -> None:
        self.splines = splines

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> NumericBlock:
        self._fit_raw(X)
        return self

    def fit_transform(self, X: np.ndarray, y: np.ndarray | None = None, **fit_params: object) -> np.ndarray:
        """Fit and transform from one basis: the basis a fit builds for its means and scales is
        standardised in place, instead of being built a second time (a quarter of a fit)."""
        out = self._fit_raw(X)
        out -= self.mean_
        out /= self.scale_
        return out

    def _fit_raw(self, X: np.ndarray) -> np.ndarray:
        """Fit every parameter; return the unstandardised basis of X."""
        Xf = as_float(X)
        with warnings.catch_warnings():  # an all-missing column has no median: it becomes 0
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(Xf, axis=0) if len(Xf) else np.zeros(Xf.shape[1])
        self.median_ = np.where(np.isnan(med), 0.0, med)
        self.gaps_ = np.flatnonzero(np.isnan(Xf).any(axis=0))
        filled = self._fill(Xf)
        self.groups_ = [list(range(i, min(i + self.GROUP, Xf.shape[1]))) for i in range(0, Xf.shape[1], self.GROUP)]
        self.splines_ = (
            [
                SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="constant").fit(filled[:, g])
                for g in self.groups_
            ]
            if self.splines
            else []
        )
        raw = self._raw(filled, np.isnan(Xf))
        self.mean_ = raw.mean(axis=0)
        sd = raw.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        return raw

    def _fill(self, Xf: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(Xf), self.median_, Xf)

    def _raw(self, filled: np.ndarray, missing: np.ndarray) -> np.ndarray:
        widths = [sp.n_features_out_ for sp in self.splines_] if self.splines else [filled.shape[1]]
        out = np.empty((len(filled), sum(widths) + len(self.gaps_)), dtype=np.float32)  # filled in place
        at = 0
        if self.splines:
            for sp, g, w in zip(self.splines_, self.groups_, widths, strict=False):
                out[:, at : at + w] = sp.transform(filled[:, g])
                at += w
        else:
            out[:, : filled.shape[1]] = filled
            at = filled.shape[1]
        out[:, at:] = missing[:, self.gaps_]
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        Xf = as_float(X)
        out = self._raw(self._fill(Xf), np.isnan(Xf))
        out -= self.mean_
        out /= self.scale_
        return out

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        names = list(input_features) if input_features is not None else [f"x{j}" for j in range(len(self.median_))]
        if self.splines:
            out = [
                str(n)
                for sp, g in zip(self.splines_, self.groups_, strict=False)
                for n in sp.get_feature_names_out([names[j] for j in g])
            ]
        else:
            out = list(names)
        return np.array(out + [f"missingindicator_{names[j]}" for j in self.gaps_], dtype=object)


def _linear_preprocessor(n_num: int, n_cat: int, *, splines: bool = False) -> ColumnTransformer | NumericBlock:
    if not n_cat:  # the platform's frames: no ColumnTransformer, whose hstack would copy the whole basis
        return NumericBlock(splines=splines)
    parts = []
    if n_num:
        parts.append(("num", NumericBlock(splines=splines), list(range(n_num))))
    if n_cat:
        parts.append(
            (
                "cat",
                Pipeline([("enc", CategoryBlock()), ("scale", StandardScaler(copy=False))]),
                list(range(n_num, n_num + n_cat)),
            )
        )
    return ColumnTransformer(parts, sparse_threshold=0.0)


def make_logreg(n_num: int, n_cat: int, *, C: float = 1.0, splines: bool = False) -> Pipeline:
    return Pipeline(
        [
            ("prep", _linear_preprocessor(n_num, n_cat, splines=splines)),
            # Newton-Cholesky: a few exact steps on a few hundred columns, much faster than lbfgs here
            ("clf", LogisticRegression(C=C, solver="newton-cholesky", max_iter=100)),
        ]
    )


def make_hgb(
    n_num: int,
    n_cat: int,
    *,
    high_card: str = "target",
    all_ordinal: bool = False,
    hgb: dict | None = None,
    **hgb_params: object,
) -> TabularHGB:
    """Boosting settings go in `hgb`; loose keyword settings (the older config shape) join them."""
    return TabularHGB(n_num, n_cat, high_card=high_card, all_ordinal=all_ordinal, hgb={**(hgb or {}), **hgb_params})


class MeanBlend(ClassifierMixin, BaseEstimator):
    """Soft vote: the mean of the members' churn probabilities (trees catch interactions, the
    linear model extrapolates smoothly; their errors are only partly correlated)."""

    def __init__(self, members: list | None = None) -> None:
        self.members = members

    def fit(self, X: np.ndarray, y: np.ndarray) -> MeanBlend:
        self.fitted_ = [clone(m).fit(X, y) for m in self.members or []]
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.mean([m.predict_proba(X)[:, 1] for m in self.fitted_], axis=0)
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def build(config: ModelConfig, n_num: int, n_cat: int):  # -> sklearn estimator
    if config.kind == "logreg":
        return make_logreg(n_num, n_cat, **config.params)
    if config.kind == "hgb":
        return make_hgb(n_num, n_cat, **config.params)
    if config.kind == "blend":
        return MeanBlend([build(CANDIDATE_BY_NAME[m], n_num, n_cat) for m in config.params["members"]])
    raise ValueError(f"unknown model kind {config.kind!r}")


def top_fraction_lift(y: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Churn rate among the top `fraction` by score, divided by the overall churn rate."""
    n_top = max(1, int(round(fraction * len(y))))
    top = np.argsort(-score, kind="stable")[:n_top]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else 0.0


def precision_at(y: np.ndarray, score: np.ndarray, capacity: int) -> float:
    """Share of churners among the `capacity` highest-scored customers (the ones we can contact)."""
    capacity = max(1, min(capacity, len(y)))
    top = np.argsort(-score, kind="stable")[:capacity]
    return float(y[top].mean())


def capacity_count(capacity: float, n: int) -> int:
    """A capacity <= 1 is a share of the base, above 1 a head count."""
    return max(1, int(round(capacity * n))) if capacity <= 1 else int(capacity)


def ranking_metrics(y: np.ndarray, score: np.ndarray, *, capacity: float) -> dict:
    cap = capacity_count(capacity, len(y))
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "top_decile_lift": top_fraction_lift(y, score, 0.1),
        "precision_at_capacity": precision_at(y, score, cap),
        "capacity": cap,
        "base_rate": float(y.mean()),
    }


@dataclass
class CVResult:
    config: str
    fold_auc: list[float]
    oof: np.ndarray  # out-of-fold churn probability per row
    seconds: float

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.fold_auc))

    @property
    def auc_std(self) -> float:
        return float(np.std(self.fold_auc))


def fold_splits(y: np.ndarray, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_validate(
    config: ModelConfig, X: np.ndarray, y: np.ndarray, n_num: int, n_cat: int, *, folds: int = 10, seed: int = 0
) -> CVResult:
    """Stratified k-fold; each fold refits the whole pipeline (preprocessing included) on its
    training part only. Returns per-fold AUCs and the out-of-fold probabilities."""
    return _cv(config, X, y, n_num, n_cat, fold_splits(y, folds, seed))


def _cv(
    config: ModelConfig,
    X: np.ndarray,
    y: np.ndarray,
    n_num: int,
    n_cat: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> CVResult:
    return _cv_many([config], X, y, n_num, n_cat, splits)[0]


def _cv_many(
    configs: Sequence[ModelConfig],
    X: np.ndarray,
    y: np.ndarray,
    n_num: int,
    n_cat: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> list[CVResult]:
    """Every (config, fold) fit, `_jobs` at a time; per-config out-of-fold probabilities."""
    oof = {c.name: np.zeros(len(y), dtype=np.float64) for c in configs}
    seconds = {c.name: 0.0 for c in configs}

    def one(task: tuple[ModelConfig, int]) -> None:
        config, k = task
        train, test = splits[k]
        t = time.perf_counter()
        with linear if config.kind == "logreg" else nullcontext():
            model = build(config, n_num, n_cat).fit(X[train], y[train])
            oof[config.name][test] = model.predict_proba(X[test])[:, 1]
        seconds[config.name] += time.perf_counter() - t

    # fold-major order, so two workers mostly fit different kinds at once; at most one linear
    # fit at a time (its dense design matrix is the biggest allocation of an evaluation)
    tasks = [(c, k) for k in range(len(splits)) for c in configs]
    linear = threading.Lock()
    jobs = _jobs.get()
    # linear fits run one at a time anyway (the lock): all-linear tasks go one after another, each
    # on every core (linear_alone); otherwise `jobs` fits at once
    all_linear = all(c.kind == "logreg" for c in configs)
    pooled = jobs > 1 and len(tasks) > 1 and not all_linear
    spread = jobs if pooled else 1
    with cpu_limits():
        if pooled:
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(one, tasks))
        else:
            with linear_alone("logreg") if all_linear else nullcontext():
                for task in tasks:
                    one(task)
    out = []
    for c in configs:
        aucs = [float(roc_auc_score(y[test], oof[c.name][test])) for _, test in splits]
        out.append(CVResult(c.name, aucs, oof[c.name], seconds[c.name] / spread))
    return out


@dataclass
class Selection:
    """Every candidate's CV on the same folds and the chosen one (highest mean fold AUC; a tie
    goes to the earlier candidate, the reference first)."""

    results: list[CVResult]
    chosen: ModelConfig
    splits: list[tuple[np.ndarray, np.ndarray]]

    @property
    def best(self) -> CVResult:
        return next(r for r in self.results if r.config == self.chosen.name)

    def get(self, name: str) -> CVResult | None:
        return next((r for r in self.results if r.config == name), None)

    def selection_honest(self) -> dict:
        """The figure of "choose, then fit" without the optimism of choosing on the scored folds:
        fold k is scored by the candidate that wins on the other folds. No extra fit (unlike the
        nested CV, which refits every candidate inside every outer fold)."""
        aucs = np.array([r.fold_auc for r in self.results])  # (candidates, folds)
        picks, oof, fold_auc = [], np.zeros_like(self.results[0].oof), []
        for k, (_, test) in enumerate(self.splits):
            others = np.delete(aucs, k, axis=1).mean(axis=1) if aucs.shape[1] > 1 else aucs[:, 0]
            i = int(np.argmax(others))
            picks.append(self.results[i].config)
            oof[test] = self.results[i].oof[test]
            fold_auc.append(float(aucs[i, k]))
        return {
            "roc_auc_mean": float(np.mean(fold_auc)),
            "roc_auc_std": float(np.std(fold_auc)),
            "chosen_per_fold": picks,
            "oof": oof,
        }


def select(
    candidates: Sequence[ModelConfig],
    X: np.ndarray,
    y: np.ndarray,
    n_num: int,
    n_cat: int,
    *,
    folds: int,
    seed: int = 0,
) -> Selection:
    """Cross-validate every candidate on one set of stratified folds and choose by mean fold
    AUC. A blend whose members are candidates too is scored from their out-of-fold predictions
    (the members are deterministic, so this equals refitting the blend, at no cost)."""
    splits = fold_splits(y, folds, seed)
    names = {c.name for c in candidates}
    derived = [c for c in candidates if c.kind == "blend" and set(c.params.get("members", ())) <= names]
    done = {r.config: r for r in _cv_many([c for c in candidates if c not in derived], X, y, n_num, n_cat, splits)}
    for config in derived:
        members = config.params["members"]
        oof = np.mean([done[m].oof for m in members], axis=0)
        aucs = [float(roc_auc_score(y[test], oof[test])) for _, test in splits]
        done[config.name] = CVResult(config.name, aucs, oof, sum(done[m].seconds for m in members))
    results = [done[c.name] for c in candidates]
    best = max(range(len(results)), key=lambda i: (results[i].auc_mean, -i))
    return Selection(results, candidates[best], splits)


def nested_cross_validate(
    configs: Sequence[ModelConfig],
    X: np.ndarray,
    y: np.ndarray,
    n_num: int,
    n_cat: int,
    *,
    folds: int = 10,
    inner_folds: int = 3,
    seed: int = 0,
) -> dict:
    """Honest estimate of "pick the best candidate, then fit it": the choice is made by an inner
    CV (`select`) on each outer training part, so the outer test fold never takes part in
    choosing. Costs inner_folds + 1 fits per candidate and outer fold; opt-in."""
    started = time.perf_counter()
    aucs: list[float] = []
    chosen: list[str] = []
    oof = np.zeros(len(y), dtype=np.float64)
    for k, (train, test) in enumerate(fold_splits(y, folds, seed + 1)):
        best = select(configs, X[train], y[train], n_num, n_cat, folds=inner_folds, seed=seed + k).chosen
        with cpu_limits():
            model = build(best, n_num, n_cat).fit(X[train], y[train])
            oof[test] = model.predict_proba(X[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], oof[test])))
        chosen.append(best.name)
    return {
        "roc_auc_mean": float(np.mean(aucs)),
        "roc_auc_std": float(np.std(aucs)),
        "fold_auc": aucs,
        "chosen_per_fold": chosen,
        "oof": oof,
        "seconds": time.perf_counter() - started,
    }
