"""Secondary disclosure (次级披露): suppressed cells recovered from totals (rule 四.(四) R4.4a).

ACRO suppresses a failing cell by blanking it and leaves the margins in place; whenever a row or a
column holds one blank and a total, subtraction gives the blank back. This check models the table
as linear equations and reports every suppressed cell the published totals still determine.

The model. Every count cell gets coordinates: its dimension values, plus the count column's name
(a wide table's columns are a dimension too). A dimension value that is a total label (``合计``,
``总计``, ``Total``, ``All`` …) or blank — as ``GROUP BY ROLLUP`` writes it — means *all*; a count
column named like a total is the *all* of the column dimension. A **margin** cell (some coordinates
*all*) equals the sum of the detail cells that agree with it on its other coordinates. Margin
patterns whose fully-shown equations do not add up (rounded totals, a "total" row of means) are
dropped. With the suppressed cells as unknowns ``x`` the margins give ``A x = b``; an unknown is
**recovered** exactly when its unit vector lies in the row space of ``A`` (its column of every
null-space basis is zero). Counts are also non-negative, so a total whose suppressed cells add up
to less than *k* bounds each of them below *k* (**jointly small**), and a sum of 0 recovers all.

Finally, for each small cell still shown, the check asks whether blanking it *alone* would protect
it; if the totals would give it back, the analyst must suppress complementary cells as well.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable

import numpy as np

from opdomain.egress import messages as msg
from opdomain.egress.check_report import Cell, Finding, Outcome, OutputContext, finding
from opdomain.egress.check_tables import TableView, small_cells
from opdomain.egress.messages import Code

TOTAL_LABEL = re.compile(
    r"^\s*(?:total|totals|all|overall|sum|grand total|sub-?total|合计|总计|小计|总数|全部|汇总|所有|全体|总体)\s*$",
    re.IGNORECASE,
)
ALL = ("__all__",)  # a coordinate meaning "every value of this dimension"
MAX_ROWS = 50_000  # larger tables already fail the row limit
MAX_CANDIDATES = 200  # shown small cells tested for "blanking alone would not protect"

CellId = tuple[int, str]


def _coordinate(value: object) -> Hashable:
    if value is None or (isinstance(value, str) and (not value.strip() or TOTAL_LABEL.match(value))):
        return ALL
    return value


class _Structure:
    """Cells, their values and the margin equations of one table."""

    def __init__(self, view: TableView) -> None:
        table = view.table
        dims = [table.column(d).to_pylist() for d in view.dimensions]
        rows = table.num_rows
        coords = [tuple(_coordinate(col[r]) for col in dims) for r in range(rows)]
        self.known: dict[CellId, int] = {}
        self.suppressed: set[CellId] = set()
        self.coordinate: dict[tuple[Hashable, ...], CellId] = {}
        self.ambiguous = False
        for name, col in view.counts.items():
            column_coord: Hashable = ALL if TOTAL_LABEL.match(name) else name
            for r in range(rows):
                if col.bad[r]:
                    continue
                key = (*coords[r], column_coord)
                if key in self.coordinate:
                    self.ambiguous = True  # two cells, one place: not a table we can model
                cell = (r, name)
                self.coordinate[key] = cell
                if col.valid[r]:
                    self.known[cell] = int(col.values[r])
                elif col.suppressed[r]:
                    self.suppressed.add(cell)
        self.equations = self._equations()

    def _equations(self) -> list[tuple[CellId, list[CellId]]]:
        """(margin, details) pairs, keeping only margin patterns whose shown equations add up."""
        details = {k: v for k, v in self.coordinate.items() if ALL not in k}
        margins = {k: v for k, v in self.coordinate.items() if ALL in k}
        by_pattern: dict[tuple[bool, ...], list[tuple[CellId, list[CellId]]]] = defaultdict(list)
        index: dict[tuple[bool, ...], dict[tuple[Hashable, ...], list[CellId]]] = {}
        for key, margin in margins.items():
            pattern = tuple(c == ALL for c in key)
            if pattern not in index:
                groups: dict[tuple[Hashable, ...], list[CellId]] = defaultdict(list)
                for dkey, cell in details.items():
                    groups[tuple(c for c, is_all in zip(dkey, pattern, strict=True) if not is_all)].append(cell)
                index[pattern] = groups
            members = index[pattern].get(tuple(c for c in key if c != ALL), [])
            if members:
                by_pattern[pattern].append((margin, members))
        kept = []
        for equations in by_pattern.values():
            additive = all(
                self.known[m] == sum(self.known[d] for d in ds)
                for m, ds in equations
                if m in self.known and all(d in self.known for d in ds)
            )
            if additive:
                kept.extend(equations)
        return kept

    def system(self, unknowns: set[CellId]) -> tuple[list[CellId], np.ndarray, np.ndarray, list[list[CellId]]]:
        """``A x = b`` over ``unknowns`` from the equations that involve one of them."""
        order = sorted(unknowns)
        position = {c: i for i, c in enumerate(order)}
        rows, rhs, groups = [], [], []
        for margin, members in self.equations:
            involved = [c for c in (margin, *members) if c in position]
            if not involved:
                continue
            row = np.zeros(len(order))
            total = 0.0
            for sign, cell in [(-1.0, margin)] + [(1.0, d) for d in members]:
                if cell in position:
                    row[position[cell]] += sign
                else:
                    total -= sign * self.known.get(cell, 0)
            rows.append(row)
            rhs.append(total)
            groups.append(involved if margin in self.known else [])
        if not rows:
            return order, np.zeros((0, len(order))), np.zeros(0), []
        return order, np.array(rows), np.array(rhs), groups


def _determined(a: np.ndarray) -> np.ndarray:
    """Which unknowns a system ``A x = b`` fixes: those whose null-space components are all zero."""
    if a.shape[0] == 0:
        return np.zeros(a.shape[1], dtype=bool)
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int(np.count_nonzero(s > 1e-9 * max(1.0, s.max(initial=0.0))))
    null = vt[rank:]
    return np.all(np.abs(null) < 1e-9, axis=0) if null.size else np.ones(a.shape[1], dtype=bool)


def _disclosive(value: float, context: OutputContext) -> bool:
    return value < context.k and (value > 0 or (context.zeros_are_disclosive and value > -0.5))


def check_secondary(view: TableView, context: OutputContext) -> list[Finding]:
    """Suppressed cells the totals give back, suppressed groups bounded below k, and small cells
    whose suppression alone would not protect them."""
    if not view.counts or view.table.num_rows > MAX_ROWS:
        return []
    structure = _Structure(view)
    if structure.ambiguous or not structure.equations:
        return []
    limit = context.max_cells_listed
    found: list[Finding] = []
    recovered: list[Cell] = []
    small_groups: list[tuple[float, list[CellId]]] = []
    if structure.suppressed:
        order, a, b, groups = structure.system(structure.suppressed)
        if a.shape[0]:
            fixed = _determined(a)
            solution = np.linalg.lstsq(a, b, rcond=None)[0]
            recovered = [Cell(*order[i]) for i in np.flatnonzero(fixed) if _disclosive(round(solution[i]), context)]
            for row, rhs, group in zip(a, b, groups, strict=True):
                if len(group) > 1 and np.all(row[row != 0] > 0) and _disclosive(rhs, context):
                    small_groups.append((float(rhs), group))
    if recovered:
        example = f"row {recovered[0].row}, column {recovered[0].column}"
        message = msg.SUPPRESSED_RECOVERABLE.format(cells=len(recovered), example=example)
        found.append(
            finding("secondary", Outcome.FAIL, "R4.4a", Code.SUPPRESSED_RECOVERABLE, message, recovered, limit=limit)
        )
    for total, group in small_groups:
        message = msg.SUPPRESSED_JOINTLY_SMALL.format(total=int(round(total)), k=context.k)
        found.append(
            finding(
                "secondary",
                Outcome.FAIL,
                "R4.4a",
                Code.SUPPRESSED_JOINTLY_SMALL,
                message,
                [Cell(*c) for c in group],
                limit=limit,
            )
        )
    exposed = _exposed_if_blanked(structure, view, context)
    if exposed:
        message = msg.NEEDS_COMPLEMENTARY.format(cells=len(exposed))
        found.append(
            finding("secondary", Outcome.FAIL, "R4.4a", Code.NEEDS_COMPLEMENTARY, message, exposed, limit=limit)
        )
    if not found:
        found.append(finding("secondary", Outcome.PASS, "R4.4a", Code.SECONDARY_OK, msg.SECONDARY_OK))
    return found


def _exposed_if_blanked(structure: _Structure, view: TableView, context: OutputContext) -> list[Cell]:
    """Shown small cells that the totals would still determine if the analyst blanked only them."""
    candidates = [
        (int(r), name)
        for name, rows in small_cells(view, context).items()
        for r in rows
        if (int(r), name) in structure.known
    ][:MAX_CANDIDATES]
    exposed = []
    for cell in candidates:
        order, a, _, _ = structure.system(structure.suppressed | {cell})
        if a.shape[0] and _determined(a)[order.index(cell)]:
            exposed.append(Cell(*cell))
    return exposed
