"""Secondary disclosure: a suppressed cell must not come back from the totals (R4.4a).

ACRO blanks only the failing cell and keeps the margins; these tables are what that produces."""

from __future__ import annotations

from opdomain.egress.checks import Outcome
from opdomain.egress.messages import Code
from tests.egress.egress_helpers import check, write_text


def _cells(finding):
    return [(c.row, c.column) for c in finding.cells]


def test_a_blanked_cell_is_recovered_from_its_row_total(tmp_path):
    path = write_text(tmp_path / "t.csv", "township,A,B,合计\n瓯北,20,30,50\n桥头,20,,24\n黄田,15,40,55\n")
    report = check(path, count_columns=("A", "B", "合计"))
    failure = next(f for f in report.failures() if f.code == Code.SUPPRESSED_RECOVERABLE)
    assert _cells(failure) == [(1, "B")]
    assert "4" not in failure.message.en.replace("R4.4a", "")  # the recovered value is not echoed


def test_a_blanked_cell_is_recovered_from_a_rollup_subtotal(tmp_path):
    path = write_text(
        tmp_path / "t.csv",
        "category,grade,n\n规上,A,39\n规上,B,\n规上,C,50\n规上,,92\n规下,A,90\n规下,B,181\n规下,C,181\n规下,,452\n",
    )
    failure = next(f for f in check(path).failures() if f.code == Code.SUPPRESSED_RECOVERABLE)
    assert _cells(failure) == [(1, "n")]


def test_a_blanked_cell_is_recovered_through_a_chain_of_totals(tmp_path):
    # row 0's blank is not alone in its row, but its column total gives the other blank back first
    path = write_text(
        tmp_path / "t.csv",
        "township,A,B,合计\n瓯北,,,40\n桥头,20,,45\n黄田,30,40,70\n合计,55,100,155\n",
    )
    failure = next(
        f for f in check(path, count_columns=("A", "B", "合计")).failures() if f.code == Code.SUPPRESSED_RECOVERABLE
    )
    assert (0, "A") in _cells(failure)


def test_a_cycle_of_blanked_cells_protects_them(tmp_path):
    path = write_text(
        tmp_path / "t.csv",
        "township,A,B,C,合计\n瓯北,,,20,54\n桥头,,,30,81\n黄田,40,50,60,150\n合计,69,106,110,285\n",
    )
    report = check(path, count_columns=("A", "B", "C", "合计"))
    assert Code.SUPPRESSED_RECOVERABLE not in report.codes()
    assert Code.SECONDARY_OK in report.codes(Outcome.PASS)


def test_blanked_cells_whose_total_is_below_k_are_bounded_and_fail(tmp_path):
    path = write_text(tmp_path / "t.csv", "grade,n\nA,\nB,\nC,50\nD,60\nTotal,117\n")
    failure = next(f for f in check(path).failures() if f.code == Code.SUPPRESSED_JOINTLY_SMALL)
    assert sorted(_cells(failure)) == [(0, "n"), (1, "n")]
    assert "7" in failure.message.en


def test_a_small_cell_whose_blanking_alone_would_not_protect_it_is_flagged(tmp_path):
    path = write_text(tmp_path / "t.csv", "township,n\n瓯北,25\n桥头,3\n黄田,30\n合计,58\n")
    report = check(path)
    assert Code.BELOW_MIN_COUNT in report.codes(Outcome.FAIL)
    failure = next(f for f in report.failures() if f.code == Code.NEEDS_COMPLEMENTARY)
    assert _cells(failure) == [(1, "n")]


def test_without_totals_blanking_a_small_cell_is_enough(tmp_path):
    path = write_text(tmp_path / "t.csv", "township,n\n瓯北,25\n桥头,\n黄田,30\n")
    report = check(path)
    assert not {Code.SUPPRESSED_RECOVERABLE, Code.NEEDS_COMPLEMENTARY} & report.codes()
    assert report.failures() == ()


def test_totals_that_do_not_add_up_are_not_used_as_equations(tmp_path):
    # rounded to 5: the margins are not sums, so nothing can be subtracted exactly
    path = write_text(tmp_path / "t.csv", "township,A,B,合计\n瓯北,20,30,55\n桥头,20,,25\n黄田,15,40,50\n")
    assert Code.SUPPRESSED_RECOVERABLE not in check(path, count_columns=("A", "B", "合计")).codes()
