"""Linkability, per-subject outputs and reversibility (R4.4a, R4.2b)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from opdomain.egress.checks import Outcome
from opdomain.egress.messages import Code
from tests.egress.egress_helpers import check, rating_list, write, write_json

SHAPE = ("uscc", "category", "grade")


def _pseudonyms(n: int) -> list[str]:
    return [f"P_{i:016x}" for i in range(n)]


# --- linkability ----------------------------------------------------------------------------------


def test_a_one_row_per_person_table_of_pseudonyms_is_refused(tmp_path):
    people = _pseudonyms(200)
    table = pa.table({"person": people, "wage_band": ["5-6k"] * 200})
    report = check(write(tmp_path / "t.csv", table), pseudonyms={"person": frozenset(people)})
    failure = next(f for f in report.failures() if f.code == Code.ONE_ROW_PER_SUBJECT)
    assert failure.cells_total == 200 and failure.rule == "R4.4a"


def test_a_column_named_as_a_subject_key_is_refused_like_opensafely_patient_id(tmp_path):
    table = pa.table({"person_id": ["x1", "x2"], "n": [12, 15]})
    assert Code.SUBJECT_KEY_COLUMN in check(write(tmp_path / "t.csv", table)).codes(Outcome.FAIL)


def test_repeated_source_keys_in_an_aggregate_are_refused(tmp_path):
    ratings = rating_list(20)
    keys = ratings.column("uscc").to_pylist()
    table = pa.table({"enterprise": keys[:2] * 5, "n": [12] * 10})
    report = check(write(tmp_path / "t.csv", table), source_keys={"enterprise": frozenset(keys)})
    assert Code.SOURCE_KEYS in report.codes(Outcome.FAIL)


def test_as_many_rows_as_subjects_with_a_unique_key_is_refused(tmp_path):
    table = pa.table({"row_id": [f"r{i}" for i in range(1290)], "score_band": ["60-70"] * 1290})
    report = check(write(tmp_path / "t.csv", table), subject_count=1290)
    assert Code.ROWS_EQUAL_SUBJECTS in report.codes(Outcome.FAIL)


def test_a_near_unique_text_column_goes_to_review(tmp_path):
    table = pa.table({"label": [f"x{i}" for i in range(150)], "n": [12] * 150})
    assert Code.NEAR_UNIQUE in check(write(tmp_path / "t.csv", table)).codes(Outcome.REVIEW)


# --- per-subject outputs --------------------------------------------------------------------------


def test_the_rating_list_of_consenting_enterprises_passes(tmp_path):
    ratings = rating_list()
    keys = frozenset(ratings.column("uscc").to_pylist())
    report = check(
        write(tmp_path / "ratings.csv", ratings),
        kind="per_subject",
        per_subject_columns=SHAPE,
        consenting_subjects=keys,
        source_keys={"enterprise": keys},
        subject_count=1290,
    )
    assert report.outcome is Outcome.PASS, [(f.code, f.message.en) for f in report.findings if f.outcome != "pass"]


def test_rows_of_subjects_who_did_not_consent_are_listed(tmp_path):
    ratings = rating_list(100)
    keys = ratings.column("uscc").to_pylist()
    consenting = frozenset(keys[:60])
    report = check(
        write(tmp_path / "ratings.csv", ratings),
        kind="per_subject",
        per_subject_columns=SHAPE,
        consenting_subjects=consenting,
    )
    failure = next(f for f in report.failures() if f.code == Code.PER_SUBJECT_NOT_CONSENTING)
    assert [c.row for c in failure.cells] == list(range(60, 100))
    assert keys[60] not in failure.message.en


def test_a_per_subject_output_needs_the_approved_shape_exactly(tmp_path):
    ratings = rating_list(30)
    with_score = ratings.append_column("score", pa.array(np.linspace(40, 90, 30)))
    consenting = frozenset(ratings.column("uscc").to_pylist())
    path = write(tmp_path / "ratings.csv", with_score)
    assert Code.PER_SUBJECT_COLUMNS in check(
        path, kind="per_subject", per_subject_columns=SHAPE, consenting_subjects=consenting
    ).codes(Outcome.FAIL)
    assert Code.PER_SUBJECT_UNDECLARED in check(path, kind="per_subject").codes(Outcome.FAIL)
    assert Code.PER_SUBJECT_NO_CONSENT in check(
        write(tmp_path / "r2.csv", ratings), kind="per_subject", per_subject_columns=SHAPE
    ).codes(Outcome.FAIL)


def test_an_undeclared_rating_list_is_refused_as_row_level(tmp_path):
    ratings = rating_list(200)
    keys = frozenset(ratings.column("uscc").to_pylist())
    report = check(write(tmp_path / "ratings.csv", ratings), source_keys={"enterprise": keys})
    assert Code.SUBJECT_KEY_COLUMN in report.codes(Outcome.FAIL)
    renamed = ratings.rename_columns(["企业", "category", "grade"])  # renaming the key column does not help
    report = check(write(tmp_path / "renamed.csv", renamed), source_keys={"enterprise": keys})
    assert Code.ONE_ROW_PER_SUBJECT in report.codes(Outcome.FAIL)


# --- reversibility --------------------------------------------------------------------------------


def test_a_table_equal_to_source_rows_is_refused_as_memorised(tmp_path):
    source = pa.table(
        {
            "uscc": rating_list(30).column("uscc"),
            "total_tax": np.round(np.linspace(10_000.37, 900_000.11, 30), 2),
            "tax_credit_grade": ["A", "B", "M"] * 10,
        }
    )
    output = source.select(["tax_credit_grade", "total_tax"]).slice(0, 12)
    report = check(write(tmp_path / "t.csv", output), source_rows_sample=source)
    failure = next(f for f in report.failures() if f.code == Code.MEMORISED_ROWS)
    assert failure.cells_total == 12


def test_a_magnitude_equal_to_one_subjects_raw_value_is_refused(tmp_path):
    source = pa.table({"total_tax": [10_000.37, 20_000.5, 31_234.56, 45_000.0]})
    output = pa.table({"grade": ["A", "B"], "n": [12, 15], "mean_tax": [31_234.56, 15_000.0]})
    report = check(write(tmp_path / "t.csv", output), source_rows_sample=source)
    failure = next(f for f in report.failures() if f.code == Code.EXACT_VALUES)
    assert [(c.row, c.column) for c in failure.cells] == [(0, "mean_tax")]


def test_a_json_model_with_more_coefficients_than_subjects_is_refused(tmp_path):
    model = {"intercept": 0.1, "coefficients": {f"x{i}": 0.01 * i for i in range(40)}}
    report = check(write_json(tmp_path / "model.json", model), kind="model", subject_count=30)
    failure = next(f for f in report.failures() if f.code == Code.TOO_MANY_PARAMETERS)
    assert failure.details == {"parameters": 41, "subjects": 30}


def test_a_small_json_model_passes_and_a_large_one_needs_review(tmp_path):
    model = {"intercept": 0.1, "coefficients": [0.2] * 14}
    path = write_json(tmp_path / "model.json", model)
    assert check(path, kind="model", subject_count=1290).outcome is Outcome.PASS
    assert Code.MANY_PARAMETERS in check(path, kind="model", subject_count=100).codes(Outcome.REVIEW)
    assert Code.SUBJECTS_UNKNOWN in check(path, kind="model").codes(Outcome.REVIEW)


def test_a_coefficient_table_counts_its_numeric_cells_as_parameters(tmp_path):
    table = pa.table({"term": [f"x{i}" for i in range(20)], "coef": [0.1] * 20, "se": [0.01] * 20})
    report = check(write(tmp_path / "coef.csv", table), kind="model", subject_count=45)
    assert Code.TOO_MANY_PARAMETERS in report.codes(Outcome.FAIL)
