"""Evaluate the modelling pipeline on any churn table: the quality check behind `python -m shared.churn evaluate`.

Honesty rules: every candidate is scored by the same stratified k-fold split with all
preprocessing inside the fold; nothing is resampled. Picking the best candidate by that same CV is
mildly optimistic, so the report also carries a nested CV (the pick is made inside each outer
training part) and says which figure is which.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from shared.churn.factors import rank_factors
from shared.churn.model import RISK_LEVELS, fit_artifact
from shared.churn.pipeline import (
    CANDIDATES,
    ModelConfig,
    cpu_limits,
    cross_validate,
    nested_cross_validate,
    ranking_metrics,
)
from shared.churn.tabular import Table


def factor_ranking(table: Table) -> list[dict]:
    names = table.numeric_names + table.categorical_names
    columns = [table.numeric[:, j] for j in range(table.numeric.shape[1])]
    columns += [table.categorical[:, j] for j in range(table.categorical.shape[1])]
    kinds = ["numeric"] * table.numeric.shape[1] + ["categorical"] * table.categorical.shape[1]
    return rank_factors(names, columns, kinds, table.y)


def evaluate_table(
    table: Table,
    *,
    folds: int = 10,
    capacity: float = 0.05,
    candidates: Sequence[ModelConfig] = CANDIDATES,
    nested: bool = True,
    inner_folds: int = 3,
    examples: int = 5,
    seed: int = 0,
) -> dict:
    """Cross-validated figures for each candidate, the chosen one, the nested estimate, the
    entropy-ranked factors and a few highest-risk rows with their top factors."""
    with cpu_limits():
        return _evaluate(table, folds=folds, capacity=capacity, candidates=candidates, nested=nested,
                         inner_folds=inner_folds, examples=examples, seed=seed)


def _evaluate(table: Table, *, folds: int, capacity: float, candidates: Sequence[ModelConfig], nested: bool,
              inner_folds: int, examples: int, seed: int) -> dict:
    started = time.perf_counter()
    X, y = table.matrix(), table.y.astype(np.int64)
    n_num, n_cat = len(table.numeric_names), len(table.categorical_names)
    if min(int(y.sum()), int(len(y) - y.sum())) < folds:
        raise ValueError(f"each class needs at least {folds} rows for {folds}-fold CV")
    results = []
    for config in candidates:
        cv = cross_validate(config, X, y, n_num, n_cat, folds=folds, seed=seed)
        pooled = ranking_metrics(y, cv.oof, capacity=capacity)
        results.append((config, cv, {
            "config": config.name,
            "roc_auc_mean": round(cv.auc_mean, 4),
            "roc_auc_std": round(cv.auc_std, 4),
            "top_decile_lift": round(pooled["top_decile_lift"], 3),
            "precision_at_capacity": round(pooled["precision_at_capacity"], 4),
            "seconds": round(cv.seconds, 1),
        }))
    config, best_cv, best = max(results, key=lambda r: r[1].auc_mean)
    pooled = ranking_metrics(y, best_cv.oof, capacity=capacity)
    report: dict = {
        "rows": len(y),
        "positive_label": table.positive,
        "base_rate": round(float(y.mean()), 4),
        "features": {"numeric": table.numeric_names, "categorical": table.categorical_names},
        "not_features": table.dropped,
        "folds": folds,
        "capacity": pooled["capacity"],
        "candidates": [r[2] for r in results],
        "chosen": config.name,
        "metrics": {
            "roc_auc_mean": best["roc_auc_mean"],
            "roc_auc_std": best["roc_auc_std"],
            "top_decile_lift": round(pooled["top_decile_lift"], 3),
            "precision_at_capacity": round(pooled["precision_at_capacity"], 4),
            "note": "best candidate chosen by this same CV (mildly optimistic); see nested for the honest figure",
        },
    }
    if nested and len(candidates) > 1:
        nest = nested_cross_validate(list(candidates), X, y, n_num, n_cat, folds=folds, inner_folds=inner_folds,
                                     seed=seed)
        npooled = ranking_metrics(y, nest["oof"], capacity=capacity)
        report["nested"] = {
            "roc_auc_mean": round(nest["roc_auc_mean"], 4),
            "roc_auc_std": round(nest["roc_auc_std"], 4),
            "top_decile_lift": round(npooled["top_decile_lift"], 3),
            "precision_at_capacity": round(npooled["precision_at_capacity"], 4),
            "chosen_per_fold": nest["chosen_per_fold"],
            "inner_folds": inner_folds,
            "seconds": round(nest["seconds"], 1),
        }
    report["factor_ranking"] = factor_ranking(table)
    if examples:
        report["highest_risk_examples"] = _examples(table, X, y, config, best_cv.oof, n_num, n_cat, examples)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _examples(table: Table, X: np.ndarray, y: np.ndarray, config: ModelConfig, oof: np.ndarray,
              n_num: int, n_cat: int, k: int) -> list[dict]:
    """Fit the chosen model on everything and show the k riskiest rows with their explanation."""
    names = table.numeric_names + table.categorical_names
    art = fit_artifact(config, X, y, feature_names=names, n_num=n_num, n_cat=n_cat, oof=oof)
    score, warning, level = art.score(X)
    top = np.argsort(-score, kind="stable")[:k]
    idx, w = art.top_factors(X[top])
    out = []
    for row, fi, fw in zip(top, idx, w, strict=True):
        out.append({
            "id": table.ids[row] if table.ids else int(row),
            "warning_coefficient": float(warning[row]),
            "risk_level": RISK_LEVELS[int(level[row])],
            "churned": bool(y[row]),
            "top_factors": [{"factor": names[j], "value": _plain(X[row, j]), "weight": round(float(v), 3)}
                            for j, v in zip(fi, fw, strict=True) if v > 0],
        })
    return out


def _plain(v: object) -> object:
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else round(float(v), 4)
    return v
