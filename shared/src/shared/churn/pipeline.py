"""The modelling pipeline: candidate models, leak-free cross-validation and the ranking metrics.

Every estimator here takes the object matrix of `Table.matrix()` (numeric columns first, then
categorical) and carries its own preprocessing (imputation, scaling, encoding) inside a sklearn
Pipeline, so cross-validation refits the preprocessing on each training fold and the held-out
fold never informs a median, a scale or a category list. Nothing is resampled.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits


CPU_THREADS = 1


def cpu_limits() -> threadpool_limits:
    """Native thread pools (OpenMP in HGB, BLAS) capped at CPU_THREADS for fits and predictions.
    On a small machine shared with Postgres and the APIs, OpenMP's spin-waiting under
    oversubscription turned a 20-second fit into minutes; one thread per job is predictable."""
    return threadpool_limits(limits=CPU_THREADS)


def as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


class AllMissingToZero(TransformerMixin, BaseEstimator):
    """Float cast, and columns that were entirely missing at fit time become 0: HGB's binning
    cannot fit a feature with no value at all (e.g. satisfaction in a city with no complaints)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> "AllMissingToZero":
        self.empty_ = np.all(np.isnan(as_float(X)), axis=0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = as_float(X).copy()
        out[:, self.empty_] = 0.0
        return out


@dataclass(frozen=True)
class ModelConfig:
    """A named candidate: `kind` is hgb, logreg or blend (mean of an hgb and a logreg probability)."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)


_HGB_SMALL = {"learning_rate": 0.02, "max_leaf_nodes": 6, "l2_regularization": 5.0, "max_iter": 500,
              "min_samples_leaf": 80}
CANDIDATES: tuple[ModelConfig, ...] = (
    ModelConfig("logreg", "logreg", {"C": 0.3}),
    ModelConfig("logreg_spline", "logreg", {"C": 0.1, "splines": True}),
    ModelConfig("hgb", "hgb", {"learning_rate": 0.05, "max_leaf_nodes": 15, "l2_regularization": 1.0,
                               "max_iter": 300, "min_samples_leaf": 40}),
    ModelConfig("hgb_small", "hgb", _HGB_SMALL),
    ModelConfig("blend", "blend", {"hgb": _HGB_SMALL, "logreg": {"C": 0.1, "splines": True}}),
)
_HGB_FAST = {"learning_rate": 0.08, "max_leaf_nodes": 12, "l2_regularization": 3.0, "max_iter": 150,
             "min_samples_leaf": 80}
PLATFORM_CANDIDATES: tuple[ModelConfig, ...] = (
    # Nightly scoring predicts every subscriber: a third of the trees of hgb_small, which on the
    # generated city costs no measurable AUC, keeps a million predictions within the night's budget.
    ModelConfig("hgb_fast", "hgb", _HGB_FAST),
    ModelConfig("blend_fast", "blend", {"hgb": _HGB_FAST, "logreg": {"C": 0.3}}),
)
CANDIDATE_BY_NAME = {c.name: c for c in CANDIDATES + PLATFORM_CANDIDATES}


def _linear_preprocessor(n_num: int, n_cat: int, *, splines: bool = False) -> ColumnTransformer:
    steps: list = [("float", FunctionTransformer(as_float, feature_names_out="one-to-one")),
                   ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))]
    if splines:
        steps.append(("spline", SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="constant")))
    steps.append(("scale", StandardScaler()))
    parts = []
    if n_num:
        parts.append(("num", Pipeline(steps), list(range(n_num))))
    if n_cat:
        parts.append(("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10,
                                           sparse_output=False), list(range(n_num, n_num + n_cat))))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def make_logreg(n_num: int, n_cat: int, *, C: float = 1.0, splines: bool = False) -> Pipeline:
    return Pipeline([
        ("prep", _linear_preprocessor(n_num, n_cat, splines=splines)),
        ("clf", LogisticRegression(C=C, max_iter=3000)),
    ])


def make_hgb(n_num: int, n_cat: int, **params: object) -> Pipeline:
    """HGB handles missing numerics natively; categories become ordinal codes it splits on natively."""
    parts = []
    if n_num:
        parts.append(("num", AllMissingToZero(), list(range(n_num))))
    if n_cat:
        parts.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                            max_categories=250), list(range(n_num, n_num + n_cat))))
    mask = [False] * n_num + [True] * n_cat
    clf = HistGradientBoostingClassifier(categorical_features=mask if n_cat else None, early_stopping=False,
                                         random_state=0, **params)
    return Pipeline([("prep", ColumnTransformer(parts, sparse_threshold=0.0)), ("clf", clf)])


class MeanBlend(ClassifierMixin, BaseEstimator):
    """Soft vote: the mean of the members' churn probabilities (trees catch interactions, the
    linear model extrapolates smoothly; their errors are only partly correlated)."""

    def __init__(self, members: list | None = None) -> None:
        self.members = members

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MeanBlend":
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
        return MeanBlend([make_hgb(n_num, n_cat, **config.params["hgb"]),
                          make_logreg(n_num, n_cat, **config.params["logreg"])])
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


def cross_validate(
    config: ModelConfig, X: np.ndarray, y: np.ndarray, n_num: int, n_cat: int, *, folds: int = 10, seed: int = 0
) -> CVResult:
    """Stratified k-fold; each fold refits the whole pipeline (preprocessing included) on its
    training part only. Returns per-fold AUCs and the out-of-fold probabilities."""
    started = time.perf_counter()
    oof = np.zeros(len(y), dtype=np.float64)
    aucs: list[float] = []
    with cpu_limits():
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
            model = build(config, n_num, n_cat).fit(X[train], y[train])
            oof[test] = model.predict_proba(X[test])[:, 1]
            aucs.append(float(roc_auc_score(y[test], oof[test])))
    return CVResult(config.name, aucs, oof, time.perf_counter() - started)


def nested_cross_validate(
    configs: tuple[ModelConfig, ...] | list[ModelConfig], X: np.ndarray, y: np.ndarray, n_num: int, n_cat: int,
    *, folds: int = 10, inner_folds: int = 3, seed: int = 0,
) -> dict:
    """Honest estimate of "pick the best candidate, then fit it": the choice is made by an inner CV
    on each outer training part, so the outer test fold never takes part in choosing."""
    started = time.perf_counter()
    aucs: list[float] = []
    chosen: list[str] = []
    oof = np.zeros(len(y), dtype=np.float64)
    for k, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed + 1).split(X, y)):
        inner = {c.name: cross_validate(c, X[train], y[train], n_num, n_cat, folds=inner_folds, seed=seed + k).auc_mean
                 for c in configs}
        best = max(configs, key=lambda c: inner[c.name])
        with cpu_limits():
            model = build(best, n_num, n_cat).fit(X[train], y[train])
            oof[test] = model.predict_proba(X[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], oof[test])))
        chosen.append(best.name)
    return {"roc_auc_mean": float(np.mean(aucs)), "roc_auc_std": float(np.std(aucs)), "fold_auc": aucs,
            "chosen_per_fold": chosen, "oof": oof, "seconds": time.perf_counter() - started}
