"""Issue 19, goals 1 and 3: the plain reference is always a candidate and reported, high-cardinality
columns are encoded out of fold, the nightly trainer chooses among the evaluator's candidates, and
a train file / test file evaluation reports the hold-out file's AUC, lift, calibration and churn
rate per risk level."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shared.churn import registry
from shared.churn.__main__ import main
from shared.churn.evaluate import evaluate_table
from shared.churn.pipeline import CANDIDATE_BY_NAME, CANDIDATES, REFERENCE, HighCardinalityEncoder, build
from shared.churn.tabular import load_csv
from tests.fixtures.planted_churn_city import write_csv, write_wide_csv


@pytest.fixture(scope="module")
def export(tmp_path_factory):  # type: ignore[no-untyped-def]
    return write_csv(tmp_path_factory.mktemp("sel") / "export.csv", n=2000, seed=11)


def test_reference_is_always_a_candidate_and_never_beats_the_choice(export) -> None:
    t = load_csv(export, label="Left_Network", id_column="subscriber_ref")
    report = evaluate_table(t, folds=3, candidates=[CANDIDATE_BY_NAME["logreg_plain"]], examples=0)
    names = [c["config"] for c in report["candidates"]]
    assert names[0] == REFERENCE and "logreg_plain" in names
    ref = next(c for c in report["candidates"] if c["config"] == REFERENCE)
    assert report["reference"]["roc_auc_mean"] == ref["roc_auc_mean"]
    assert report["metrics"]["roc_auc_mean"] >= ref["roc_auc_mean"]
    assert report["reference"]["chosen_minus_reference"] == pytest.approx(
        report["metrics"]["roc_auc_mean"] - ref["roc_auc_mean"], abs=2e-4
    )
    honest = report["selection_honest"]
    assert len(honest["chosen_per_fold"]) == 3 and set(honest["chosen_per_fold"]) <= set(names)


def test_the_nightly_trainer_chooses_among_the_evaluators_candidates() -> None:
    assert tuple(c.name for c in CANDIDATES) == registry.AUTO_CANDIDATES
    assert REFERENCE in registry.AUTO_CANDIDATES


def test_high_cardinality_levels_are_target_encoded_out_of_fold(tmp_path) -> None:
    rng = np.random.default_rng(4)
    n = 3000
    levels = np.array([f"L{i:03d}" for i in rng.integers(0, 600, n)], dtype=object)
    y = (rng.random(n) < 0.3).astype(np.int64)  # the level says nothing about the label
    enc = HighCardinalityEncoder().fit_transform(levels[:, None], y)
    in_sample = {v: y[levels == v].mean() for v in set(levels.tolist())}
    assert roc_auc_score(y, [in_sample[v] for v in levels]) > 0.75  # what memorising looks like
    assert abs(roc_auc_score(y, enc[:, 0]) - 0.5) < 0.04  # out of fold: nothing to memorise

    wide = write_wide_csv(tmp_path / "wide.csv", n=1500, areas=200, states=50)
    t = load_csv(wide, label="Churn", id_column="CustomerID")
    model = build(CANDIDATE_BY_NAME["hgb"], len(t.numeric_names), len(t.categorical_names))
    model.fit(t.matrix(), t.y)
    area, state = t.categorical_names.index("ServiceArea"), t.categorical_names.index("State")
    assert area in model.high_ and state in model.high_  # never split level by level
    assert t.categorical_names.index("CreditRating") in model.native_


def test_train_file_then_test_file(export, tmp_path) -> None:
    rows = list(csv.reader(export.open()))
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    for path, part in ((train, rows[1:1400]), (test, rows[1400:])):
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows([rows[0], *part])
    out = tmp_path / "r.json"
    code = main(
        [
            "evaluate",
            str(train),
            "--test",
            str(test),
            "--label",
            "Left_Network",
            "--id",
            "subscriber_ref",
            "--folds",
            "3",
            "--candidates",
            "logreg_plain",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    r = json.loads(out.read_text())
    t = r["test"]
    assert t["rows"] == len(rows) - 1400 and r["rows"] == 1399
    assert t["roc_auc"] > 0.75 and t["top_decile_lift"] > 1.8 and t["reference"]["roc_auc"] > 0.6
    cal = t["calibration"]
    assert abs(cal["mean_predicted"] - cal["observed"]) < 0.04 and cal["ece"] < 0.06 and len(cal["bins"]) == 10
    levels = t["risk_levels"]
    assert sum(v["rows"] for v in levels.values()) == t["rows"]
    assert levels["high"]["churn_rate"] > 2 * t["base_rate"] > levels["low"]["churn_rate"]

    short = tmp_path / "short.csv"
    with short.open("w", newline="") as fh:
        csv.writer(fh).writerows([row[:3] + row[4:] for row in [rows[0], *rows[1400:1500]]])
    assert (
        main(
            [
                "evaluate",
                str(train),
                "--test",
                str(short),
                "--label",
                "Left_Network",
                "--folds",
                "3",
                "--candidates",
                "logreg_plain",
                "--out",
                str(out),
            ]
        )
        == 2
    )
