"""What a training costs: the linear model builds its spline basis once per fit, and a linear fit
with nothing beside it uses every core its trainer was given (issue 17, the cold night)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info

from shared.churn.model import fit_artifact
from shared.churn.pipeline import (
    CANDIDATE_BY_NAME,
    NumericBlock,
    build,
    cores_shared,
    cpu_limits,
    cross_validate,
    parallel_folds,
    select,
)


def _frame(n: int = 3000, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 3] = np.nan  # a column with no value at all
    signal = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) ** 2 - 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.int64)
    return X, y


class TestSplineBasis:
    @pytest.mark.parametrize("splines", [True, False])
    def test_fit_transform_equals_fit_then_transform(self, splines: bool) -> None:
        X, _ = _frame()
        once = NumericBlock(splines).fit_transform(X)
        twice = NumericBlock(splines).fit(X).transform(X)
        assert once.dtype == twice.dtype == np.float32
        assert np.array_equal(once, twice)

    def test_a_pipeline_fit_builds_the_basis_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        X, y = _frame()
        calls: list[int] = []
        original = NumericBlock._raw

        def counting(self: NumericBlock, filled: np.ndarray, missing: np.ndarray) -> np.ndarray:
            calls.append(len(filled))
            return original(self, filled, missing)

        monkeypatch.setattr(NumericBlock, "_raw", counting)
        build(CANDIDATE_BY_NAME["logreg"], X.shape[1], 0).fit(X, y)
        assert calls == [len(X)]


def _blas_threads() -> int:
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for two BLAS threads")
class TestLinearFitsUseTheCores:
    @pytest.fixture
    def seen(self, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
        """(solver, BLAS threads) of every logistic regression fitted."""
        out: list[tuple[str, int]] = []
        original = LogisticRegression.fit

        def spying(self: LogisticRegression, X: np.ndarray, y: np.ndarray, *a: object, **k: object):  # type: ignore[no-untyped-def]
            out.append((self.solver, _blas_threads()))
            return original(self, X, y, *a, **k)

        monkeypatch.setattr(LogisticRegression, "fit", spying)
        return out

    def test_linear_folds_and_the_final_fit_run_on_two_threads(self, seen: list[tuple[str, int]]) -> None:
        X, y = _frame()
        with cpu_limits(), parallel_folds(2):
            cross_validate(CANDIDATE_BY_NAME["logreg"], X, y, X.shape[1], 0, folds=3)
            fit_artifact(
                CANDIDATE_BY_NAME["logreg"],
                X,
                y,
                feature_names=[f"f{j}" for j in range(X.shape[1])],
                n_num=X.shape[1],
                n_cat=0,
                calibration_folds=3,
            )
            after = _blas_threads()
        # 3 folds, then 3 calibration folds, the model and the explainer
        assert [t for _, t in seen] == [2] * 8
        assert after == 1  # the trainer's own limit is back once the fits are done

    def test_linear_fits_beside_tree_fits_keep_one_thread(self, seen: list[tuple[str, int]]) -> None:
        X, y = _frame()
        hgb = CANDIDATE_BY_NAME["reference"]
        with cpu_limits(), parallel_folds(2):
            select([hgb, CANDIDATE_BY_NAME["logreg"]], X, y, X.shape[1], 0, folds=3)
        assert len(seen) == 3 and {t for _, t in seen} == {1}

    def test_linear_fits_beside_engine_stages_keep_one_thread(self, seen: list[tuple[str, int]]) -> None:
        """A first model trained while engine stages run (cores_shared) does not fight them for
        the cores with a two-thread BLAS call; once they are done, its next fits use both."""
        X, y = _frame()
        with cpu_limits(), parallel_folds(2):
            with cores_shared():
                cross_validate(CANDIDATE_BY_NAME["logreg"], X, y, X.shape[1], 0, folds=3)
            cross_validate(CANDIDATE_BY_NAME["logreg"], X, y, X.shape[1], 0, folds=3)
        assert [t for _, t in seen] == [1, 1, 1, 2, 2, 2]

    def test_one_job_keeps_one_thread(self, seen: list[tuple[str, int]]) -> None:
        X, y = _frame()
        with cpu_limits(), parallel_folds(1):
            cross_validate(CANDIDATE_BY_NAME["logreg"], X, y, X.shape[1], 0, folds=3)
        assert [t for _, t in seen] == [1] * 3
