"""A fitted churn model as one picklable object: scorer, calibration, thresholds and explainer.

- churn_score: the model's raw probability (used for ranking).
- warning_coefficient: 0-100, the probability after isotonic calibration on out-of-fold
  predictions, binned (the final model is fitted on all rows; the calibration map comes from k
  models that never saw the rows they scored, so it is not fooled by the final model's fit).
- risk_level: high for the top `high_share` of the training population's out-of-fold scores
  (sized to the contact capacity), medium for the next band up to `medium_share`, else low.
- top factors: a logistic regression on standardised features fitted beside the scorer. For a
  customer, factor j's weight is coef_j * (z_ij - mean_j), i.e. how far this customer's value moves
  the log-odds away from an average customer's (one-hot levels are summed back into their
  feature). It is exact for the linear model and a cheap, readable surrogate for the trees: a
  matrix product, fast enough for millions of rows, and stable from night to night.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Protocol

import joblib
import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline

from shared.churn.pipeline import ModelConfig, build, cpu_limits, cross_validate, linear_alone, make_logreg

RISK_LEVELS = ("low", "medium", "high")
SLICE = 20_000  # rows scored at once

_COLUMN = re.compile(r"^(?:missingindicator_)?x(\d+)")


class LinearExplainer:
    """Per-customer, per-feature log-odds contributions relative to the training population."""

    def __init__(self, n_num: int, n_cat: int, *, C: float = 0.3) -> None:
        self.n_num, self.n_cat, self.C = n_num, n_cat, C

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearExplainer:
        self.pipe_: Pipeline = make_logreg(self.n_num, self.n_cat, C=self.C).fit(X, y)
        prep = self.pipe_["prep"]
        z = prep.transform(X)
        self.center_ = z.mean(axis=0)
        self.coef_ = self.pipe_["clf"].coef_[0]
        n_features = self.n_num + self.n_cat
        columns = [str(name).split("__", 1)[-1] for name in prep.get_feature_names_out()]
        self.map_ = np.zeros((len(columns), n_features), dtype=np.float64)
        for i, col in enumerate(columns):
            m = _COLUMN.match(col)
            if m:
                self.map_[i, int(m.group(1))] = 1.0
        return self

    def contributions(self, X: np.ndarray) -> np.ndarray:
        z = self.pipe_["prep"].transform(X)
        return ((z - self.center_) * self.coef_) @ self.map_


class Classifier(Protocol):
    """What scoring needs of the fitted estimator (a scikit-learn pipeline or the blend)."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class ChurnArtifact:
    """Everything needed to score a feature matrix laid out like the training one."""

    config: ModelConfig
    feature_names: list[str]
    n_num: int
    n_cat: int
    model: Classifier
    calibrator: IsotonicRegression
    explainer: LinearExplainer
    high_cut: float  # raw-score thresholds
    medium_cut: float
    uplift: object | None = None  # shared.churn.uplift.UpliftModel when campaign hold-outs allowed one

    def uplift_scores(self, X: np.ndarray) -> np.ndarray | None:
        """Expected fall in churn probability from a contact, per row (None without a model)."""
        model = getattr(self, "uplift", None)
        return model.predict(X) if model is not None else None

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(churn_score 0-1, warning_coefficient 0-100, risk level index 0/1/2) per row."""
        with cpu_limits():
            # in slices: a spline basis of a 100k-row chunk would be ~100 MB at once
            raw = (
                np.concatenate([self.model.predict_proba(X[i : i + SLICE])[:, 1] for i in range(0, len(X), SLICE)])
                if len(X)
                else np.zeros(0)
            )
        warning = np.round(100.0 * self.calibrator.predict(raw), 2)
        level = np.where(raw >= self.high_cut, 2, np.where(raw >= self.medium_cut, 1, 0))
        return raw, warning, level

    def top_factors(self, X: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Indices (into feature_names) and weights of the k features pushing each row's risk up
        most, largest first; weights <= 0 mean "nothing above average" and callers drop them."""
        contrib = self.explainer.contributions(X)
        k = min(k, contrib.shape[1])
        idx = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(contrib, idx, axis=1)
        order = np.argsort(-w, axis=1)
        return np.take_along_axis(idx, order, axis=1), np.take_along_axis(w, order, axis=1)

    def dumps(self) -> bytes:
        buf = io.BytesIO()
        joblib.dump(self, buf, compress=3)
        return buf.getvalue()

    @staticmethod
    def loads(blob: bytes) -> ChurnArtifact:
        return joblib.load(io.BytesIO(blob))


def binned_isotonic(score: np.ndarray, y: np.ndarray, *, min_bin: int = 50, bins: int = 100) -> IsotonicRegression:
    """Isotonic map from out-of-fold score to churn probability, fitted on quantile bins of at
    least `min_bin` rows: a plain isotonic fit puts a step of 0 or 1 at the extremes from a
    handful of rows, which reads as "certain to churn" where the data cannot say so."""
    order = np.argsort(score, kind="stable")
    size = max(min_bin, len(score) // bins)
    groups = np.arange(len(score)) // size
    if len(groups) and (groups == groups[-1]).sum() < size // 2 and groups[-1] > 0:
        groups[groups == groups[-1]] -= 1  # fold a short tail bin into its neighbour
    s_sorted, y_sorted = score[order], y[order].astype(np.float64)
    counts = np.bincount(groups).astype(np.float64)
    x = np.bincount(groups, weights=s_sorted) / counts
    p = np.bincount(groups, weights=y_sorted) / counts
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, p, sample_weight=counts)


def fit_artifact(
    config: ModelConfig,
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: list[str],
    n_num: int,
    n_cat: int,
    calibration_folds: int = 5,
    high_share: float = 0.05,
    medium_share: float = 0.20,
    oof: np.ndarray | None = None,
) -> ChurnArtifact:
    """Fit scorer + calibration + explainer on (X, y). Pass `oof` when out-of-fold probabilities
    for this config were already computed (saves `calibration_folds` fits)."""
    if oof is None:
        oof = cross_validate(config, X, y, n_num, n_cat, folds=calibration_folds).oof
    calibrator = binned_isotonic(oof, y)
    with cpu_limits():
        with linear_alone(config.kind):
            model = build(config, n_num, n_cat).fit(X, y)
        with linear_alone("logreg"):
            explainer = LinearExplainer(n_num, n_cat).fit(X, y)
    high_cut = float(np.quantile(oof, 1 - high_share))
    medium_cut = float(np.quantile(oof, 1 - medium_share))
    return ChurnArtifact(
        config, list(feature_names), n_num, n_cat, model, calibrator, explainer, high_cut, min(medium_cut, high_cut)
    )
