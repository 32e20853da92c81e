"""Evaluate the modelling pipeline on any churn table: the quality check behind `python -m shared.churn evaluate`.

Honesty rules: every candidate is scored by the same stratified k-fold split with all
preprocessing inside the fold; nothing is resampled. The choice is `pipeline.select`, the one the
nightly trainer makes, and the model reported is the one `fit_artifact` trains for the platform.
The plain reference is always a candidate and always reported beside the choice. Choosing the
best candidate on the folds it is scored on is mildly optimistic, so the report also carries the
selection-honest figure (each fold scored by the candidate that wins on the other folds, no extra
fit) and, with `nested=True`, a full nested CV.

With a `test` table (the next month's export), the chosen model is fitted on the whole training
table and scored on the test table: AUC, lift, calibration and churn rate per risk level.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from shared.churn.factors import rank_factors
from shared.churn.model import RISK_LEVELS, ChurnArtifact, fit_artifact
from shared.churn.pipeline import (
    CANDIDATES,
    REFERENCE,
    ModelConfig,
    build,
    cpu_limits,
    default_threads,
    limit_heap_growth,
    nested_cross_validate,
    parallel_folds,
    ranking_metrics,
    select,
)
from shared.churn.tabular import Table, TableError


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
    nested: bool = False,
    inner_folds: int = 3,
    examples: int = 5,
    seed: int = 0,
    test: Table | None = None,
    threads: int | None = None,
) -> dict:
    """Cross-validated figures for each candidate (the reference among them), the chosen one,
    the selection-honest estimate (and the nested one on request), the entropy-ranked factors, a
    few highest-risk rows with their top factors and, given `test`, the hold-out file's figures.
    Raises TableError when a class has fewer rows than folds."""
    y = table.y
    if min(int(y.sum()), int(len(y) - y.sum())) < folds:
        raise TableError(
            f"{folds}-fold CV needs at least {folds} churners and {folds} non-churners; the table has "
            f"{int(y.sum())} and {int(len(y) - y.sum())} (use fewer --folds)",
            churners=int(y.sum()),
            rows=len(y),
        )
    limit_heap_growth()
    if REFERENCE not in {c.name for c in candidates}:
        from shared.churn.pipeline import CANDIDATE_BY_NAME

        candidates = [CANDIDATE_BY_NAME[REFERENCE], *candidates]
    with cpu_limits(), parallel_folds(threads or default_threads()):
        return _evaluate(
            table,
            folds=folds,
            capacity=capacity,
            candidates=list(candidates),
            nested=nested,
            inner_folds=inner_folds,
            examples=examples,
            seed=seed,
            test=test,
        )


def _figures(cv_auc: float, cv_std: float, y: np.ndarray, oof: np.ndarray, capacity: float) -> dict:
    pooled = ranking_metrics(y, oof, capacity=capacity)
    return {
        "roc_auc_mean": round(cv_auc, 4),
        "roc_auc_std": round(cv_std, 4),
        "top_decile_lift": round(pooled["top_decile_lift"], 3),
        "precision_at_capacity": round(pooled["precision_at_capacity"], 4),
    }


def _evaluate(
    table: Table,
    *,
    folds: int,
    capacity: float,
    candidates: list[ModelConfig],
    nested: bool,
    inner_folds: int,
    examples: int,
    seed: int,
    test: Table | None,
) -> dict:
    started = time.perf_counter()
    X, y = table.matrix(), table.y.astype(np.int64)
    n_num, n_cat = len(table.numeric_names), len(table.categorical_names)
    sel = select(candidates, X, y, n_num, n_cat, folds=folds, seed=seed)
    rows = [
        {"config": r.config, **_figures(r.auc_mean, r.auc_std, y, r.oof, capacity), "seconds": round(r.seconds, 1)}
        for r in sel.results
    ]
    best, ref = sel.best, sel.get(REFERENCE)
    assert ref is not None
    honest = sel.selection_honest()
    report: dict = {
        "rows": len(y),
        "positive_label": table.positive,
        "base_rate": round(float(y.mean()), 4),
        "file": {k: v for k, v in table.notes.items() if k != "warnings"},
        "warnings": list(table.notes.get("warnings", [])),
        "features": {"numeric": table.numeric_names, "categorical": table.categorical_names},
        "not_features": table.dropped,
        "folds": folds,
        "capacity": ranking_metrics(y, best.oof, capacity=capacity)["capacity"],
        "candidates": rows,
        "chosen": sel.chosen.name,
        "metrics": {
            **_figures(best.auc_mean, best.auc_std, y, best.oof, capacity),
            "note": "the model the platform trains (chosen by this same CV: see selection_honest)",
        },
        "reference": {
            **next(r for r in rows if r["config"] == REFERENCE),
            "what": "HistGradientBoostingClassifier, default settings, ordinal-coded categoricals",
            "chosen_minus_reference": round(best.auc_mean - ref.auc_mean, 4),
        },
        "selection_honest": {
            **_figures(honest["roc_auc_mean"], honest["roc_auc_std"], y, honest["oof"], capacity),
            "chosen_per_fold": honest["chosen_per_fold"],
            "note": "each fold scored by the candidate that wins on the other folds",
        },
    }
    if nested and len(candidates) > 1:
        nest = nested_cross_validate(candidates, X, y, n_num, n_cat, folds=folds, inner_folds=inner_folds, seed=seed)
        report["nested"] = {
            **_figures(nest["roc_auc_mean"], nest["roc_auc_std"], y, nest["oof"], capacity),
            "chosen_per_fold": nest["chosen_per_fold"],
            "inner_folds": inner_folds,
            "seconds": round(nest["seconds"], 1),
        }
    report["factor_ranking"] = factor_ranking(table)
    names = table.numeric_names + table.categorical_names
    art = fit_artifact(
        sel.chosen,
        X,
        y,
        feature_names=names,
        n_num=n_num,
        n_cat=n_cat,
        oof=best.oof,
        high_share=_share(capacity, len(y)),
    )
    if examples:
        report["highest_risk_examples"] = _examples(table, X, y, art, names, examples)
    if test is not None:
        report["test"] = holdout_report(
            art,
            test,
            capacity=capacity,
            reference=build(next(c for c in candidates if c.name == REFERENCE), n_num, n_cat).fit(X, y),
        )
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _share(capacity: float, n: int) -> float:
    """The high-risk share of the population: the contact capacity (0.05 of the base by default)."""
    return capacity if capacity <= 1 else min(1.0, capacity / n)


def calibration(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> dict:
    """Mean predicted vs observed churn, the expected calibration error over `bins` equal-count
    bins of the predicted probability, and the Brier score."""
    order = np.argsort(prob, kind="stable")
    groups = np.array_split(order, min(bins, len(prob)))
    ece = sum(len(g) * abs(prob[g].mean() - y[g].mean()) for g in groups if len(g)) / len(prob)
    return {
        "mean_predicted": round(float(prob.mean()), 4),
        "observed": round(float(y.mean()), 4),
        "ece": round(float(ece), 4),
        "brier": round(float(np.mean((prob - y) ** 2)), 4),
        "bins": [
            {
                "mean_predicted": round(float(prob[g].mean()), 4),
                "observed": round(float(y[g].mean()), 4),
                "rows": len(g),
            }
            for g in groups
            if len(g)
        ],
    }


def holdout_report(art: ChurnArtifact, test: Table, *, capacity: float, reference: object | None = None) -> dict:
    """Score a labelled table the model never saw, as the platform would score next month."""
    X, y = test.matrix(), test.y.astype(np.int64)
    raw, warning, level = art.score(X)
    m = ranking_metrics(y, raw, capacity=capacity)
    out: dict = {
        "rows": len(y),
        "base_rate": round(float(y.mean()), 4),
        "file": {k: v for k, v in test.notes.items() if k != "warnings"},
        "warnings": list(test.notes.get("warnings", [])),
        "roc_auc": round(m["roc_auc"], 4),
        "top_decile_lift": round(m["top_decile_lift"], 3),
        "precision_at_capacity": round(m["precision_at_capacity"], 4),
        "capacity": m["capacity"],
        "calibration": calibration(y, warning / 100.0),
        "risk_levels": {
            name: {
                "rows": int((level == k).sum()),
                "churn_rate": round(float(y[level == k].mean()), 4) if (level == k).any() else None,
            }
            for k, name in enumerate(RISK_LEVELS)
        },
    }
    if reference is not None:
        with cpu_limits():
            p = reference.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        rm = ranking_metrics(y, p, capacity=capacity)
        out["reference"] = {"roc_auc": round(rm["roc_auc"], 4), "top_decile_lift": round(rm["top_decile_lift"], 3)}
    return out


def _examples(table: Table, X: np.ndarray, y: np.ndarray, art: ChurnArtifact, names: list[str], k: int) -> list[dict]:
    """The k riskiest rows under the final model with their explanation."""
    score, warning, level = art.score(X)
    top = np.argsort(-score, kind="stable")[:k]
    idx, w = art.top_factors(X[top])
    out = []
    for row, fi, fw in zip(top, idx, w, strict=True):
        out.append(
            {
                "id": table.ids[row] if table.ids else int(row),
                "warning_coefficient": float(warning[row]),
                "risk_level": RISK_LEVELS[int(level[row])],
                "churned": bool(y[row]),
                "top_factors": [
                    {"factor": names[j], "value": _plain(X[row, j]), "weight": round(float(v), 3)}
                    for j, v in zip(fi, fw, strict=True)
                    if v > 0
                ],
            }
        )
    return out


def _plain(v: object) -> object:
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else round(float(v), 4)
    return v
