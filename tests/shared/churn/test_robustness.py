"""Honest about bad files (issue 19): each case is a damaged copy of the public Telco file, and
each one either reads correctly (and says what it found) or is refused with a clear TableError,
never a traceback and never a silently wrong table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from shared.churn.__main__ import main
from shared.churn.tabular import TableError, load_csv
from shared.db.embedded import REPO_ROOT

TELCO = REPO_ROOT.parent / "shared" / "data" / "Telco-Customer-Churn.csv"
pytestmark = pytest.mark.skipif(not TELCO.exists(), reason=f"{TELCO} not present")


def _rows() -> tuple[list[str], list[list[str]]]:
    with TELCO.open(newline="") as fh:
        r = list(csv.reader(fh))
    return r[0], r[1:]


def _write(
    path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def telco() -> tuple[list[str], list[list[str]]]:
    return _rows()


@pytest.fixture(scope="module")
def clean(telco):  # type: ignore[no-untyped-def]
    return load_csv(TELCO, label="Churn", id_column="customerID")


def _num(table, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return table.numeric[:, table.numeric_names.index(name)]


def _evaluate(tmp_path: Path, path: Path, *extra: str) -> tuple[int, str, dict | None]:
    out = tmp_path / "r.json"
    code = main(
        [
            "evaluate",
            str(path),
            "--label",
            "Churn",
            "--id",
            "customerID",
            "--folds",
            "3",
            "--candidates",
            "logreg",
            "--out",
            str(out),
            *extra,
        ]
    )
    return code, "", json.loads(out.read_text()) if code == 0 else None


class TestRefusedClearly:
    def test_empty_file(self, tmp_path, capsys) -> None:
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        assert _evaluate(tmp_path, empty)[0] == 2
        assert "empty" in capsys.readouterr().err
        only_header = tmp_path / "header.csv"
        only_header.write_text("customerID,tenure,Churn\n")
        with pytest.raises(TableError, match="no data rows"):
            load_csv(only_header, label="Churn")

    def test_fewer_churners_than_folds(self, tmp_path, telco, capsys) -> None:
        header, rows = telco
        few = [r for r in rows if r[-1] == "No"] + [r for r in rows if r[-1] == "Yes"][:5]
        code, _, _ = _evaluate(tmp_path, _write(tmp_path / "few.csv", header, few), "--folds", "10")
        assert code == 2
        err = capsys.readouterr().err
        assert "at least 10 churners" in err and "has 5" in err

    def test_label_2_1_is_ambiguous_until_named(self, tmp_path, telco, capsys) -> None:
        header, rows = telco
        coded = [r[:-1] + ["2" if r[-1] == "Yes" else "1"] for r in rows]
        path = _write(tmp_path / "coded.csv", header, coded)
        with pytest.raises(TableError, match="--positive"):
            load_csv(path, label="Churn", id_column="customerID")
        assert _evaluate(tmp_path, path)[0] == 2 and "cannot tell" in capsys.readouterr().err
        t = load_csv(path, label="Churn", id_column="customerID", positive="2")
        assert t.positive == "2" and abs(t.y.mean() - 0.2654) < 0.001
        for pair in (("1", "0"), ("Yes", "No"), ("True", "False"), ("churned", "active")):
            rows2 = [r[:-1] + [pair[0] if r[-1] == "Yes" else pair[1]] for r in rows[:400]]
            assert load_csv(_write(tmp_path / "p.csv", header, rows2), label="Churn").positive == pair[0]


class TestReadRight:
    @pytest.mark.parametrize("encoding", ["cp1252", "gbk", "utf-8-sig"])
    def test_encodings(self, tmp_path, telco, encoding) -> None:
        header, rows = telco
        words = {
            "cp1252": {"Electronic check": "Chèque électronique", "Mailed check": "Chèque postal"},
            "gbk": {"Electronic check": "电子支票", "Mailed check": "邮寄支票", "Month-to-month": "按月"},
            "utf-8-sig": {"Electronic check": "电子支票"},
        }[encoding]
        changed = [[words.get(c, c) for c in r] for r in rows]
        t = load_csv(
            _write(tmp_path / "enc.csv", header, changed, encoding=encoding), label="Churn", id_column="customerID"
        )
        assert t.notes["encoding"] == {"cp1252": "cp1252", "gbk": "gb18030", "utf-8-sig": "utf-8-sig"}[encoding]
        pay = t.categorical[:, t.categorical_names.index("PaymentMethod")]
        original = [r[header.index("PaymentMethod")] for r in rows]
        assert (pay == np.array([words.get(v, v) for v in original], dtype=object)).all()
        assert t.ids is not None and t.ids[0] == rows[0][0]  # a BOM does not stick to the first column name

    def test_european_export(self, tmp_path, telco, clean) -> None:
        header, rows = telco
        num = [header.index("MonthlyCharges"), header.index("TotalCharges")]

        def euro(v: str) -> str:
            if not v.strip():
                return v
            whole, _, frac = f"{float(v):,.2f}".partition(".")
            return whole.replace(",", ".") + "," + frac  # 1,889.50 -> 1.889,50

        rows_eu = [[euro(c) if j in num else c for j, c in enumerate(r)] for r in rows]
        t = load_csv(_write(tmp_path / "eu.csv", header, rows_eu, delimiter=";"), label="Churn", id_column="customerID")
        assert t.notes["delimiter"] == ";" and t.notes["decimal"] == "comma"
        for name in ("MonthlyCharges", "TotalCharges"):
            np.testing.assert_allclose(_num(t, name), _num(clean, name), rtol=0, atol=0.006)
        assert clean.notes["decimal"] == "point"

    def test_currency_and_unknown_tokens_stay_numeric(self, tmp_path, telco, clean) -> None:
        header, rows = telco
        j, m = header.index("TotalCharges"), header.index("MonthlyCharges")
        damaged = []
        for i, r in enumerate(rows):
            r = list(r)
            if r[j].strip():
                r[j] = "unknown" if i % 50 == 0 else f"${float(r[j]):,.2f}"
            r[m] = f"¥{r[m]}"
            damaged.append(r)
        t = load_csv(_write(tmp_path / "cur.csv", header, damaged), label="Churn", id_column="customerID")
        assert {"TotalCharges", "MonthlyCharges"} <= set(t.numeric_names)
        total, ref = _num(t, "TotalCharges"), _num(clean, "TotalCharges")
        ok = ~np.isnan(total)
        np.testing.assert_allclose(total[ok], ref[ok], atol=0.006)
        np.testing.assert_allclose(_num(t, "MonthlyCharges"), _num(clean, "MonthlyCharges"))
        unknown = sum(1 for i, r in enumerate(rows) if r[j].strip() and i % 50 == 0)
        assert t.notes["not_numbers"]["TotalCharges"] == {"cells": unknown, "values": ["unknown"]}
        assert any("TotalCharges" in w and "not numbers" in w for w in t.notes["warnings"])


class TestDuplicatesAndLeaks:
    def test_duplicated_ids_are_dropped_and_counted(self, tmp_path, telco, clean) -> None:
        header, rows = telco
        dup = rows + rows[: len(rows) // 5]
        t = load_csv(_write(tmp_path / "dup.csv", header, dup), label="Churn", id_column="customerID")
        assert len(t) == len(clean) and t.ids == clean.ids
        assert t.notes["duplicates"]["rows_dropped"] == len(rows) // 5

    def test_conflicting_labels_refused_or_dropped(self, tmp_path, telco, clean) -> None:
        header, rows = telco
        flipped = [r[:-1] + ["No" if r[-1] == "Yes" else "Yes"] for r in rows[: len(rows) // 20]]
        path = _write(tmp_path / "conf.csv", header, rows + flipped)
        with pytest.raises(TableError, match="both label values"):
            load_csv(path, label="Churn", id_column="customerID")
        t = load_csv(path, label="Churn", id_column="customerID", conflicts="drop")
        assert len(t) == len(rows) - len(flipped)
        assert t.notes["duplicates"]["ids_with_conflicting_labels"] == len(flipped)

    def test_undeclared_row_number_with_repeats_is_a_leak(self, tmp_path, telco) -> None:
        header, rows = telco
        ordered = sorted(rows, key=lambda r: r[-1] == "Yes")  # churners exported last
        numbered = [[str(i - (1 if i % 300 == 0 else 0)), *r] for i, r in enumerate(ordered, start=1)]
        path = _write(tmp_path / "rownum.csv", ["row", *header], numbered)
        t = load_csv(path, label="Churn", id_column="customerID")
        assert "row" not in t.numeric_names and t.dropped["row"].startswith("identifier-like")
        # shuffled, it is no longer in file order, but alone it still ranks churners perfectly
        rng = np.random.default_rng(0)
        shuffled = [numbered[i] for i in rng.permutation(len(numbered))]
        path2 = _write(tmp_path / "rownum2.csv", ["row", *header], shuffled)
        t2 = load_csv(path2, label="Churn", id_column="customerID")
        assert "row" not in t2.numeric_names and t2.dropped["row"].startswith("leak?")
        assert t2.notes["leaks"]["row"] >= 0.98 and any("--allow row" in w for w in t2.notes["warnings"])
        kept = load_csv(path2, label="Churn", id_column="customerID", allow=["row"])
        assert "row" in kept.numeric_names

    def test_a_post_churn_category_is_a_leak_but_real_factors_are_not(self, tmp_path, telco, clean) -> None:
        header, rows = telco
        reason = [
            [*r, "price" if r[-1] == "Yes" and i % 2 else ("competitor" if r[-1] == "Yes" else "")]
            for i, r in enumerate(rows)
        ]
        t = load_csv(
            _write(tmp_path / "reason.csv", [*header, "ChurnReason"], reason), label="Churn", id_column="customerID"
        )
        assert t.dropped["ChurnReason"].startswith("leak?")
        assert not clean.notes.get("leaks") and "Contract" in clean.categorical_names
