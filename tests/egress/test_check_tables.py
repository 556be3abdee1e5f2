"""Aggregate-table checks: row limit, minimum count, zeros, dominance, summary (R4.4a)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from opdomain.egress.check_report import OutputContext
from opdomain.egress.check_tables import column_roles, small_cells
from opdomain.egress.checks import Outcome, read_csv
from opdomain.egress.messages import Code
from opdomain.privacy.disclosure import check_min_count
from tests.egress.egress_helpers import check, grade_distribution, rating_list, write, write_text


def test_a_scenario_grade_distribution_with_every_cell_at_least_10_passes(tmp_path):
    table = grade_distribution(rating_list())
    assert min(table.column("n").to_pylist()) >= 10
    report = check(write(tmp_path / "grades.csv", table), kind="table")
    assert report.outcome is Outcome.PASS, [(f.code, f.message.en) for f in report.findings if f.outcome != "pass"]
    assert report.rows == 10 and report.columns == ("category", "grade", "n")


def test_the_same_table_as_parquet_passes(tmp_path):
    report = check(write(tmp_path / "grades.parquet", grade_distribution(rating_list())), kind="table")
    assert report.outcome is Outcome.PASS


def test_small_cells_fail_and_are_named(tmp_path):
    table = pa.table({"township": ["瓯北", "桥头", "黄田"], "n": [25, 3, 10]})
    report = check(write(tmp_path / "t.csv", table))
    (failure,) = [f for f in report.failures() if f.code == Code.BELOW_MIN_COUNT]
    assert [(c.row, c.column) for c in failure.cells] == [(1, "n")]
    assert failure.rule == "R4.4a"


def test_zero_cells_fail_because_zeros_are_disclosive(tmp_path):
    table = pa.table({"grade": list("ABC"), "n": [30, 0, 40]})
    path = write(tmp_path / "t.csv", table)
    failure = next(f for f in check(path).failures() if f.code == Code.ZERO_COUNT)
    assert [(c.row, c.column) for c in failure.cells] == [(1, "n")]
    assert "nobody" in failure.message.en
    assert check(path, zeros_are_disclosive=False).outcome is Outcome.PASS


def test_declared_count_columns_of_a_wide_crosstab_are_checked(tmp_path):
    table = pa.table({"category": ["规上", "规下"], "A": [39, 90], "B": [77, 4], "C": [77, 181]})
    report = check(write(tmp_path / "t.csv", table), count_columns=("A", "B", "C"))
    failure = next(f for f in report.failures() if f.code == Code.BELOW_MIN_COUNT)
    assert [(c.row, c.column) for c in failure.cells] == [(1, "B")]


def test_undeclared_integer_columns_not_named_as_counts_are_magnitudes_for_review(tmp_path):
    table = pa.table({"category": ["规上", "规下"], "A": [39, 90]})
    report = check(write(tmp_path / "t.csv", table))
    assert Code.NO_CONTRIBUTIONS in report.codes(Outcome.REVIEW)


def test_suppression_markers_are_read_as_suppressed_not_as_text(tmp_path):
    path = write_text(tmp_path / "t.csv", "grade,n\nA,39\nB,<10\nC,*\n")
    view = column_roles(read_csv(path, duckdb.connect()), OutputContext())
    assert view.counts["n"].suppressed.tolist() == [False, True, True]
    assert view.counts["n"].values[0] == 39


def test_a_count_column_with_fractions_goes_to_review(tmp_path):
    path = write_text(tmp_path / "t.csv", "grade,n\nA,39\nB,12.5\n")
    assert Code.COUNT_NOT_A_COUNT in check(path).codes(Outcome.REVIEW)


def test_an_aggregate_table_over_5000_rows_is_refused(tmp_path):
    table = pa.table({"cell": [f"c{i}" for i in range(5001)], "n": [12] * 5001})
    assert Code.ROW_LIMIT in check(write(tmp_path / "t.csv", table)).codes(Outcome.FAIL)


def test_a_mean_with_a_count_in_its_row_needs_only_dominance_review(tmp_path):
    table = pa.table({"grade": list("ABCDE"), "n": [39, 77, 77, 116, 78], "mean_score": [88.1, 74.2, 61.0, 47.3, 30.9]})
    report = check(write(tmp_path / "t.csv", table))
    assert Code.MAGNITUDE_UNCOUNTED not in report.codes()
    assert report.codes(Outcome.REVIEW) == {Code.NO_CONTRIBUTIONS}


def test_the_mean_of_a_small_or_suppressed_group_fails_like_its_count(tmp_path):
    path = write_text(tmp_path / "t.csv", "grade,n,mean_score\nA,39,88.1\nB,,74.2\nC,4,61.0\n")
    failure = next(f for f in check(path).failures() if f.code == Code.FEW_CONTRIBUTORS)
    assert [(c.row, c.column) for c in failure.cells] == [(1, "mean_score"), (2, "mean_score")]


def test_a_magnitude_without_any_count_goes_to_review(tmp_path):
    table = pa.table({"grade": list("AB"), "mean_tax": [1.5e6, 2.5e5]})
    assert Code.MAGNITUDE_UNCOUNTED in check(write(tmp_path / "t.csv", table)).codes(Outcome.REVIEW)


# --- dominance ------------------------------------------------------------------------------------------


def _contributions(cells: dict[tuple[int, str], list[float]]) -> pa.Table:
    rows = [(r, c, v, f"s{r}-{i}") for (r, c), vs in cells.items() for i, v in enumerate(vs)]
    return pa.table(
        {
            "row": [r[0] for r in rows],
            "column": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "subject": [r[3] for r in rows],
        }
    )


def test_a_cell_dominated_by_one_contributor_fails_p_percent_and_nk(tmp_path):
    table = pa.table({"grade": ["A", "B"], "n": [12, 12], "total_tax": [10_120.0, 1_200.0]})
    contributions = _contributions({(0, "total_tax"): [10_000.0] + [10.0] * 12, (1, "total_tax"): [100.0] * 12})
    report = check(write(tmp_path / "t.csv", table), contributions=contributions)
    p = next(f for f in report.failures() if f.code == Code.P_PERCENT)
    nk = next(f for f in report.failures() if f.code == Code.NK)
    assert [(c.row, c.column) for c in p.cells] == [(0, "total_tax")]
    assert [(c.row, c.column) for c in nk.cells] == [(0, "total_tax")]


def test_balanced_contributions_pass_dominance(tmp_path):
    table = pa.table({"grade": ["A", "B"], "total_tax": [1_200.0, 1_300.0]})
    contributions = _contributions({(0, "total_tax"): [100.0] * 12, (1, "total_tax"): [100.0] * 13})
    report = check(write(tmp_path / "t.csv", table), contributions=contributions)
    assert report.outcome is Outcome.PASS, [(f.code, f.message.en) for f in report.findings if f.outcome != "pass"]
    assert Code.DOMINANCE_OK in report.codes(Outcome.PASS)


def test_contributions_from_fewer_than_k_subjects_fail(tmp_path):
    table = pa.table({"grade": ["A"], "total_tax": [500.0]})
    contributions = _contributions({(0, "total_tax"): [100.0] * 5})
    assert Code.FEW_CONTRIBUTORS in check(write(tmp_path / "t.csv", table), contributions=contributions).codes()


def test_contributions_may_come_as_a_sidecar_file(tmp_path):
    table = pa.table({"grade": ["A"], "total_tax": [10_120.0]})
    sidecar = write(tmp_path / "contributions.parquet", _contributions({(0, "total_tax"): [10_000.0] + [10.0] * 12}))
    assert Code.P_PERCENT in check(write(tmp_path / "t.csv", table), contributions=sidecar).codes(Outcome.FAIL)


def test_a_negative_contribution_goes_to_review(tmp_path):
    table = pa.table({"grade": ["A"], "total_profit": [900.0]})
    contributions = _contributions({(0, "total_profit"): [-100.0] + [100.0] * 10})
    report = check(write(tmp_path / "t.csv", table), contributions=contributions)
    assert Code.DOMINANCE_UNDECIDABLE in report.codes(Outcome.REVIEW)


def test_maxima_and_minima_are_refused_acro_does_not_even_offer_them(tmp_path):
    table = pa.table({"grade": ["A", "B"], "n": [39, 77], "max_tax": [9e6, 2e6], "median_tax": [1e6, 5e5]})
    report = check(write(tmp_path / "t.csv", table))
    assert Code.EXTREME_VALUE in report.codes(Outcome.FAIL)
    assert Code.QUANTILE in report.codes(Outcome.REVIEW)


# --- the vectorised threshold rule is the privacy rule --------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=30), st.integers(1, 20), st.booleans())
def test_vectorised_small_cells_equal_the_pure_threshold_rule(counts, k, zeros):
    context = OutputContext(k=k, zeros_are_disclosive=zeros)
    view = column_roles(pa.table({"n": pa.array(counts, pa.int64())}), context)
    expected = check_min_count(counts, k, zeros_are_disclosive=zeros).failing
    assert tuple(int(r) for r in small_cells(view, context)["n"]) == expected


def test_the_summary_shows_ranges_and_rounding_patterns(tmp_path):
    table = pa.table({"grade": list("ABCD"), "n": [35, 80, 120, 95], "mean": [1.5, 2.0, np.nan, 4.25]})
    report = check(write(tmp_path / "t.csv", table))
    n = next(s for s in report.summaries if s.column == "n")
    assert (n.min, n.max, n.sum, n.count, n.distinct) == (35, 120, 330, 4, 4)
    assert n.multiples[5] == 1.0 and n.multiples[10] == 0.5
    grade = next(s for s in report.summaries if s.column == "grade")
    assert grade.distinct == 4 and grade.min is None
