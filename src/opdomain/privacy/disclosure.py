"""Statistical disclosure control rules for tables (rules 四.(四) R4.4a, 五.(一) R5.1a).

Nothing may leave the domain from which raw records can be recovered (R4.4a), and every output passes
egress review (数据出域审核, R5.1a). These pure functions are the cell-level rules the query engine
(analysis rule, SPEC §5) and the airlock (SPEC §6) apply to an aggregate table:

* **minimum count** (threshold rule, 最小单元格计数): every cell counts at least *k* data subjects;
* **p % dominance** (p 百分比规则): no contributor can estimate another's value to within p %;
* **(n, k) dominance** (n-k 集中度规则): the *n* largest contributors hold no more than a share *k*.

Definitions, defaults and edge cases follow ACRO (AI-SDC/ACRO, ``acro_tables.py``: threshold 10,
p = 0.10, n = 2, k = 0.9, zeros disclosive), which implements the rules of the UK ONS / SDC handbook
guidance (Hundepool et al., *Statistical Disclosure Control*, 2012, §4.2). The rules are defined for
non-negative magnitudes: a cell with a negative contribution fails and needs a human reviewer, as
ACRO marks it for review.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from opdomain.errors import Message

DEFAULT_MIN_COUNT = 10
DEFAULT_P = 0.10
DEFAULT_N = 2
DEFAULT_K = 0.9

BELOW_MIN_COUNT = Message(
    "{cells} 个单元格的计数低于 {k}", "{cells} cell(s) count fewer than {k} data subjects"
)
P_PERCENT_DOMINATED = Message(
    "其余贡献者之和不足最大贡献者的 {p}%：第二大贡献者可推算最大贡献者的数值",
    "the contributions besides the two largest are under {p}% of the largest: "
    "the second largest contributor could estimate the largest",
)
NK_DOMINATED = Message(
    "最大的 {n} 个贡献者占合计的 {share}%，超过 {k}%",
    "the {n} largest contributors hold {share}% of the total, more than {k}%",
)
TOO_FEW_OR_ZERO = Message(
    "贡献者少于两个或合计为零，单元格可被推断",
    "fewer than two contributors or a zero total: the cell discloses its contributors",
)
NEGATIVE_CONTRIBUTION = Message(
    "存在负值贡献，集中度规则不适用，须人工审核",
    "a contribution is negative: dominance rules do not apply, a reviewer must decide",
)
NON_FINITE_CONTRIBUTION = Message(
    "存在缺失或非有限数值的贡献，须人工审核",
    "a contribution is missing or not finite: a reviewer must decide",
)


@dataclass(frozen=True)
class MinCountResult:
    """Outcome of the minimum-count rule over a table's cells; ``failing`` names the failing cells
    (their keys, or their positions when the counts came as a sequence)."""

    passed: bool
    k: int
    failing: tuple[Hashable, ...]
    reason: Message | None


@dataclass(frozen=True)
class DominanceResult:
    """Outcome of one dominance rule on one cell. ``statistic`` is the rule's measure: the p-ratio
    ``(T - x1 - x2) / x1`` for p %, the top-n share for (n, k); None when it is undefined."""

    rule: str
    passed: bool
    statistic: float | None
    reason: Message | None


def check_min_count(
    counts: Mapping[Hashable, int] | Iterable[int],
    k: int = DEFAULT_MIN_COUNT,
    *,
    zeros_are_disclosive: bool = True,
) -> MinCountResult:
    """Threshold rule: a cell fails when its count of distinct data subjects is below ``k``.

    ``counts`` maps cell keys to counts, or is a sequence of counts (keys are then positions). A zero
    count fails too unless ``zeros_are_disclosive`` is False: an empty cell says that nobody in the
    group has the property, which can itself disclose (ACRO's ``ZEROS_ARE_DISCLOSIVE``).
    """
    if type(k) is not int or k < 1:
        raise ValueError("k must be a positive integer")
    items = counts.items() if isinstance(counts, Mapping) else enumerate(counts)
    failing: list[Hashable] = []
    for key, count in items:
        if count < 0:
            raise ValueError("a count cannot be negative")
        if count < k and (count > 0 or zeros_are_disclosive):
            failing.append(key)
    reason = BELOW_MIN_COUNT.format(cells=len(failing), k=k) if failing else None
    return MinCountResult(passed=not failing, k=k, failing=tuple(failing), reason=reason)


def _contributions(values: Iterable[float]) -> tuple[list[float], DominanceResult | None]:
    """Contributions sorted largest first, or the refusal for values the rules cannot judge."""
    xs = [float(v) for v in values]
    if any(not math.isfinite(x) for x in xs):
        return xs, DominanceResult("", False, None, NON_FINITE_CONTRIBUTION)
    if any(x < 0 for x in xs):
        return xs, DominanceResult("", False, None, NEGATIVE_CONTRIBUTION)
    return sorted(xs, reverse=True), None


def p_percent_dominance(
    values: Iterable[float], p: float = DEFAULT_P, *, zeros_are_disclosive: bool = True
) -> DominanceResult:
    """p % rule on one cell, whose contributors gave ``values``.

    With the contributions sorted ``x1 ≥ x2 ≥ … ≥ xm`` and the published total ``T = Σ xi``, the
    second-largest contributor can subtract its own value and learn ``T - x2``, an upper bound of
    ``x1`` that is off by ``R = T - x1 - x2``. The cell **fails when R < p · x1**, i.e. when the p-ratio
    ``R / x1`` is below ``p``: x1 could be estimated to within p %. The comparison is exact (``p`` is
    the decimal it is written as), so a cell exactly at the threshold passes. (ACRO ``agg_p_percent``; the ONS
    p % rule with no prior knowledge, q = 100 %.) A cell with fewer than two contributors or a zero
    total fails when ``zeros_are_disclosive`` (ACRO's default); a negative or non-finite contribution
    fails for review.
    """
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    xs, refused = _contributions(values)
    if refused:
        return DominanceResult("p_percent", False, None, refused.reason)
    total = math.fsum(xs)
    if len(xs) < 2 or total <= 0:
        if zeros_are_disclosive:
            return DominanceResult("p_percent", False, None, TOO_FEW_OR_ZERO)
        if total <= 0:
            return DominanceResult("p_percent", True, None, None)
    rest = math.fsum(xs[2:])  # summed directly, not T - x1 - x2, to avoid cancellation
    ratio = rest / xs[0]
    if Fraction(rest) < _exact(p) * Fraction(xs[0]):
        return DominanceResult("p_percent", False, ratio, P_PERCENT_DOMINATED.format(p=_pct(p)))
    return DominanceResult("p_percent", True, ratio, None)


def nk_dominance(values: Iterable[float], n: int = DEFAULT_N, k: float = DEFAULT_K) -> DominanceResult:
    """(n, k) dominance rule on one cell: it **fails when the n largest contributions exceed the share
    k of the cell total** (``x1 + … + xn > k · T``). A zero total passes (nothing is dominated; ACRO
    ``agg_nk``); a cell of n or fewer contributors always fails when k < 1. A negative or non-finite
    contribution fails for review.
    """
    if type(n) is not int or n < 1:
        raise ValueError("n must be a positive integer")
    if not 0 < k <= 1:
        raise ValueError("k must be in (0, 1]")
    xs, refused = _contributions(values)
    if refused:
        return DominanceResult("nk_dominance", False, None, refused.reason)
    total = math.fsum(xs)
    if total <= 0:
        return DominanceResult("nk_dominance", True, None, None)
    top = math.fsum(xs[:n])
    share = top / total
    if Fraction(top) > _exact(k) * Fraction(total):
        reason = NK_DOMINATED.format(n=n, share=_pct(share), k=_pct(k))
        return DominanceResult("nk_dominance", False, share, reason)
    return DominanceResult("nk_dominance", True, share, None)


def _exact(threshold: float) -> Fraction:
    """A threshold as the decimal it is written as (0.1 is one tenth, not the nearest double), so a
    cell exactly on the threshold passes, whatever the floating-point rounding."""
    return Fraction(repr(float(threshold)))


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.4g}"
