"""The CSV modelling pipeline: finds a planted signal, ranks the planted factor first, refuses ids,
and scores ~0.5 when the labels carry no information (no leakage through preprocessing)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.churn.__main__ import main
from shared.churn.evaluate import evaluate_table
from shared.churn.factors import information_gain, rank_factors
from shared.churn.model import fit_artifact
from shared.churn.pipeline import CANDIDATE_BY_NAME, ModelConfig, cross_validate
from shared.churn.tabular import TableError, build_table, load_csv
from tests.fixtures.planted_churn_city import write_csv

# A short boosting run keeps the file fast; the production candidates are exercised by the bench.
FAST = [
    CANDIDATE_BY_NAME["logreg"],
    ModelConfig(
        "hgb_fast", "hgb", {"hgb": {"max_iter": 80, "learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 40}}
    ),
]


@pytest.fixture(scope="module")
def export(tmp_path_factory):  # type: ignore[no-untyped-def]
    return write_csv(tmp_path_factory.mktemp("churn") / "operator_export.csv", n=2000)


class TestTable:
    def test_types_columns_without_knowing_their_names(self, export) -> None:
        t = load_csv(export, label="Left_Network", id_column="subscriber_ref")
        assert t.positive == "True" and 0.1 < t.y.mean() < 0.6
        assert set(t.numeric_names) == {"MonthsOnNet", "MonthlyFee", "RivalHotlineCalls", "DataTrend"}
        assert set(t.categorical_names) == {"Region", "Has_Broadband"}
        assert t.dropped["subscriber_ref"] == "id column" and t.ids is not None
        assert np.isnan(t.numeric[:, t.numeric_names.index("MonthlyFee")]).sum() > 0  # blanks became missing

    def test_an_id_is_never_a_feature_even_when_not_declared(self, export) -> None:
        t = load_csv(export, label="Left_Network")
        assert "subscriber_ref" not in t.numeric_names + t.categorical_names
        assert t.dropped["subscriber_ref"].startswith("identifier-like")
        rows = [[str(i), str(i % 3), "Yes" if i % 4 == 0 else "No"] for i in range(200)]
        t2 = build_table(["cust_no", "x", "gone"], rows, label="gone")
        assert t2.dropped["cust_no"].startswith("identifier-like") and t2.numeric_names == ["x"]

    def test_bad_label_refused(self, export) -> None:
        with pytest.raises(TableError):
            load_csv(export, label="NoSuchColumn")
        with pytest.raises(TableError):
            build_table(["a", "y"], [["1", "p"], ["2", "q"], ["3", "r"]], label="y")


class TestSignal:
    def test_planted_signal_found_and_ranked_first(self, export) -> None:
        t = load_csv(export, label="Left_Network", id_column="subscriber_ref")
        report = evaluate_table(t, folds=4, candidates=FAST, nested=False, examples=3)
        assert report["metrics"]["roc_auc_mean"] > 0.75
        assert report["metrics"]["top_decile_lift"] > 1.8
        assert report["factor_ranking"][0]["factor"] == "RivalHotlineCalls"
        assert {f["factor"] for f in report["factor_ranking"][:2]} == {"RivalHotlineCalls", "DataTrend"}
        ex = report["highest_risk_examples"][0]
        assert ex["risk_level"] == "high" and any(f["factor"] == "RivalHotlineCalls" for f in ex["top_factors"])

    def test_shuffled_labels_score_chance(self, export) -> None:
        t = load_csv(export, label="Left_Network", id_column="subscriber_ref")
        y = np.random.default_rng(3).permutation(t.y).astype(np.int64)
        X, nn, nc = t.matrix(), len(t.numeric_names), len(t.categorical_names)
        for config in FAST:
            cv = cross_validate(config, X, y, nn, nc, folds=4)
            assert abs(cv.auc_mean - 0.5) < 0.05, (config.name, cv.auc_mean)

    def test_information_gain_is_entropy_difference(self) -> None:
        y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
        perfect = np.array([1, 1, 0, 0, 1, 1, 0, 0])
        useless = np.array([0, 1, 0, 1, 0, 1, 0, 1])
        assert information_gain(perfect, y)[0] == pytest.approx(1.0)
        assert information_gain(useless, y)[0] == pytest.approx(0.0)
        ranked = rank_factors(
            ["noise", "cause"], [useless.astype(float), perfect.astype(float)], ["numeric", "numeric"], y
        )
        assert [f["factor"] for f in ranked] == ["cause", "noise"]
        assert ranked[0]["warning_coefficient"] == pytest.approx(100.0)

    def test_artifact_scores_calibrates_and_explains(self, export) -> None:
        t = load_csv(export, label="Left_Network", id_column="subscriber_ref")
        names = t.numeric_names + t.categorical_names
        art = fit_artifact(
            CANDIDATE_BY_NAME["logreg"],
            t.matrix(),
            t.y.astype(np.int64),
            feature_names=names,
            n_num=len(t.numeric_names),
            n_cat=len(t.categorical_names),
            calibration_folds=3,
        )
        raw, warning, level = art.score(t.matrix())
        assert warning.min() >= 0 and warning.max() <= 100
        assert 0.03 < (level == 2).mean() < 0.08  # high = top 5% of the population
        assert abs(warning.mean() / 100 - t.y.mean()) < 0.03  # calibrated: mean prob ≈ churn rate
        idx, w = art.top_factors(t.matrix()[np.argsort(-raw)[:20]])
        assert (w[:, 0] > 0).all() and names[idx[0, 0]] in {"RivalHotlineCalls", "DataTrend"}
        again = type(art).loads(art.dumps()).score(t.matrix()[:50])[0]
        assert np.allclose(again, raw[:50])


class TestCli:
    def test_evaluate_command_on_an_unseen_export(self, export, tmp_path, capsys) -> None:
        out = tmp_path / "eval.json"
        code = main(
            [
                "evaluate",
                str(export),
                "--label",
                "Left_Network",
                "--id",
                "subscriber_ref",
                "--folds",
                "3",
                "--candidates",
                "logreg,logreg_plain",
                "--nested",
                "--positive",
                "True",
                "--out",
                str(out),
            ]
        )
        assert code == 0
        report = json.loads(out.read_text())
        assert report["nested"]["roc_auc_mean"] > 0.75 and len(report["nested"]["chosen_per_fold"]) == 3
        assert report["metrics"]["roc_auc_mean"] > 0.75 and "subscriber_ref" not in report["features"]["numeric"]
        printed = capsys.readouterr().out
        assert "ROC AUC" in printed and "top-decile lift" in printed and "information gain" in printed

    def test_evaluate_command_reports_a_bad_label(self, export, tmp_path, capsys) -> None:
        assert main(["evaluate", str(export), "--label", "Churn", "--out", str(tmp_path / "x.json")]) == 2
        assert "not in the table" in capsys.readouterr().err
