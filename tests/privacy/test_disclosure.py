"""Statistical disclosure rules for outputs (nothing reversible leaves, R4.4a; egress review, R5.1a)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opdomain.privacy.disclosure import (
    NEGATIVE_CONTRIBUTION,
    NON_FINITE_CONTRIBUTION,
    TOO_FEW_OR_ZERO,
    check_min_count,
    nk_dominance,
    p_percent_dominance,
)

contributions = st.lists(st.integers(0, 10**9), min_size=2, max_size=30)

# --- minimum count -----------------------------------------------------------------------------------


def test_cells_below_k_fail_and_are_named():
    result = check_min_count({"瓯北": 25, "桥头": 3, "黄田": 10}, k=10)
    assert not result.passed
    assert result.failing == ("桥头",)
    assert "1" in result.reason.en and "10" in result.reason.zh


def test_all_cells_at_or_above_k_pass():
    result = check_min_count([10, 11, 500], k=10)
    assert result.passed and result.failing == () and result.reason is None


def test_zero_cells_fail_unless_zeros_are_not_disclosive():
    assert check_min_count([0, 20], k=10).failing == (0,)
    assert check_min_count([0, 20], k=10, zeros_are_disclosive=False).passed


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_min_count_refuses_a_meaningless_k(k):
    with pytest.raises(ValueError):
        check_min_count([5], k=k)


def test_min_count_refuses_negative_counts():
    with pytest.raises(ValueError):
        check_min_count([-1], k=10)


@given(st.lists(st.integers(0, 100)), st.integers(1, 50))
def test_min_count_fails_exactly_the_small_cells(counts, k):
    result = check_min_count(counts, k)
    assert result.failing == tuple(i for i, c in enumerate(counts) if c < k)
    assert result.passed is (not result.failing)


@given(st.lists(st.integers(0, 100)), st.integers(1, 50), st.integers(1, 50))
def test_min_count_is_monotone_in_k(counts, k1, k2):
    low, high = sorted((k1, k2))
    assert set(check_min_count(counts, low).failing) <= set(check_min_count(counts, high).failing)


# --- p % dominance -----------------------------------------------------------------------------------


def test_p_percent_fails_when_the_rest_is_small():
    # x1 = 100, x2 = 50, rest = 5 < 10 % of 100: the second could estimate the first within 5 %
    result = p_percent_dominance([100, 50, 3, 2])
    assert not result.passed
    assert result.statistic == pytest.approx(0.05)
    assert "10" in result.reason.en


def test_p_percent_passes_when_the_rest_hides_the_largest():
    result = p_percent_dominance([100, 50, 10, 5])
    assert result.passed and result.statistic == pytest.approx(0.15) and result.reason is None


def test_p_percent_cell_exactly_on_the_threshold_passes():
    # rest 1 is exactly 10 % of 10; 0.1 * 10 in floating point would round and could flip this
    assert p_percent_dominance([10, 5, 1]).passed
    assert not p_percent_dominance([10, 5, 0.999]).passed


@pytest.mark.parametrize("values", [[], [42], [0, 0, 0]])
def test_p_percent_treats_empty_single_and_zero_cells_as_disclosive(values):
    result = p_percent_dominance(values)
    assert not result.passed and result.reason == TOO_FEW_OR_ZERO


def test_p_percent_single_contributor_fails_even_when_zeros_are_allowed():
    assert not p_percent_dominance([42], zeros_are_disclosive=False).passed
    assert p_percent_dominance([0, 0], zeros_are_disclosive=False).passed


@pytest.mark.parametrize(
    ("values", "reason"),
    [([10, -5, 3], NEGATIVE_CONTRIBUTION), ([10, float("nan"), 3], NON_FINITE_CONTRIBUTION)],
)
def test_dominance_rules_send_negative_or_missing_values_to_review(values, reason):
    assert p_percent_dominance(values).reason == reason
    assert nk_dominance(values).reason == reason
    assert not p_percent_dominance(values).passed and not nk_dominance(values).passed


def _p_percent_oracle(values: list[int], p: float) -> bool:
    """Exact rational arithmetic, written from the definition: fails iff T - x1 - x2 < p * x1."""
    xs = sorted(values, reverse=True)
    if sum(xs) == 0:
        return False
    return Fraction(sum(xs) - xs[0] - xs[1]) >= Fraction(str(p)) * xs[0]


@given(contributions, st.sampled_from([0.05, 0.10, 0.15, 0.25]))
def test_p_percent_matches_its_definition(values, p):
    assert p_percent_dominance(values, p).passed is _p_percent_oracle(values, p)


@given(contributions, st.randoms())
def test_p_percent_ignores_order(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert p_percent_dominance(values).passed is p_percent_dominance(shuffled).passed


@given(contributions, st.integers(1, 1000))
def test_p_percent_is_scale_invariant(values, factor):
    assert p_percent_dominance(values).passed is p_percent_dominance([v * factor for v in values]).passed


@given(contributions, st.integers(0, 10**9))
def test_p_percent_a_new_small_contributor_never_breaks_a_passing_cell(values, extra):
    second = sorted(values, reverse=True)[1]
    extra = min(extra, second)  # not among the two largest
    if p_percent_dominance(values).passed:
        assert p_percent_dominance([*values, extra]).passed


@given(st.integers(1, 10**6), st.integers(3, 50))
def test_p_percent_many_equal_contributors_pass(value, m):
    assert p_percent_dominance([value] * m).passed


# --- (n, k) dominance ---------------------------------------------------------------------------------


def test_nk_fails_when_two_contributors_hold_over_90_percent():
    result = nk_dominance([60, 35, 3, 2])
    assert not result.passed and result.statistic == pytest.approx(0.95)
    assert "95" in result.reason.en and "90" in result.reason.zh


def test_nk_passes_at_exactly_k():
    assert nk_dominance([45, 45, 5, 5]).passed  # 90 % is not more than 90 %


def test_nk_zero_total_passes():
    assert nk_dominance([0, 0, 0]).passed


@pytest.mark.parametrize(("n", "k"), [(0, 0.9), (2, 0), (2, 1.5), (1.5, 0.9)])
def test_nk_refuses_meaningless_parameters(n, k):
    with pytest.raises(ValueError):
        nk_dominance([1, 2, 3], n=n, k=k)


@given(contributions, st.integers(1, 5), st.sampled_from([0.5, 0.75, 0.9, 0.95]))
def test_nk_matches_its_definition(values, n, k):
    xs = sorted(values, reverse=True)
    total = sum(xs)
    expected = total == 0 or Fraction(sum(xs[:n])) <= Fraction(str(k)) * total
    assert nk_dominance(values, n, k).passed is expected


@given(st.integers(1, 10**6), st.integers(1, 40), st.integers(1, 5))
def test_nk_equal_contributors_pass_iff_n_over_m_at_most_k(value, m, n):
    assert nk_dominance([value] * m, n=n, k=0.9).passed is (min(n, m) / m <= 0.9)


@given(contributions, st.integers(1, 4))
def test_nk_larger_n_never_passes_what_smaller_n_fails(values, n):
    if not nk_dominance(values, n=n).passed:
        assert not nk_dominance(values, n=n + 1).passed
