"""Pass 6 (domain) — the k threshold, enforced by rewriting the query (rules R1.1a, R1.1b).

The analyst's SQL is not trusted to aggregate enough: the rewrite makes the engine count, for every
output row, the distinct data subjects (persons, enterprises) it was built from, and drop rows with
fewer than k of any subject type of the tables used.

Every relation carries hidden *subject slots* (columns named ``__od_…``):

* a base table row carries the raw id of each subject column (``__od_s_<column>``, added by
  ``analysis_base``) — a *scalar* slot;
* a non-aggregating SELECT passes its sources' slots through;
* an aggregating SELECT inside the query turns each slot into the *set* of distinct subjects of the
  group (``list_distinct(list(…))``, or ``list_distinct(flatten(list(…)))`` for sets), except a
  slot whose subject column is the only group key, which stays scalar (one subject per group);
* the final aggregation adds ``HAVING count(DISTINCT slot) >= k`` (``count(slot)`` when the subject is
  unique per row and no join can duplicate rows; ``len(list_distinct(flatten(list(set))))`` for sets)
  for every slot, plus the region checks of ``analysis_regions``; a final non-aggregating SELECT over
  aggregated derived tables adds ``WHERE len(set) >= k``.

Because the check is a HAVING/WHERE of the outermost query, the analyst's HAVING, ORDER BY and LIMIT
apply to rows that already passed it, and nothing the analyst writes can refer to the hidden columns
(their prefix is reserved). Slots that an inner join's equality proves equal are counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import NOT_AGGREGATED, RULE_RAW_DATA, QueryRefused
from opdomain.compute.analysis_fastpath import Deferred, two_phase
from opdomain.compute.analysis_regions import collect_regions, region_checks, rows_in, weighted_requirements
from opdomain.compute.analysis_tree import (
    column,
    conjuncts,
    is_aggregating,
    own_nodes,
    select_clauses,
    sources,
    strip,
)
from opdomain.compute.policy import GrantPolicy, TablePolicy, weight_column


def subject_column(name: str) -> str:
    """Hidden column of a base relation holding the raw id of subject column ``name``."""
    return f"__od_s_{name.lower()}"


def element_column(name: str) -> str:
    """Hidden column (differencing only): ``hash(subject) << 64 | hash(row)``, a base row of one subject."""
    return f"__od_e_{name.lower()}"


@dataclass(frozen=True)
class Slot:
    column: str
    type: str
    kind: str  # "scalar" | "set"
    unique: bool  # scalar: no subject appears in two rows of the relation
    visible: str | None  # a visible column of the relation holding the same value (unmasked subject column)
    counted: bool = True  # False: a differencing element slot, carried but not counted for k
    weight: str | None = None  # base relations: column with 1 / (rows of this subject), when precomputed


@dataclass
class SlotRelation:
    slots: list[Slot]
    unique_columns: frozenset[str] = frozenset()


@dataclass
class KReport:
    subject_types: set[str] = field(default_factory=set)
    decisions: list[str] = field(default_factory=list)
    #: membership mode: output columns holding the subject lists, by subject type
    membership: dict[str, list[str]] = field(default_factory=dict)


def base_slots(table: TablePolicy, *, membership: bool = False) -> SlotRelation:
    slots = []
    unique: set[str] = set()
    for col in table.subject_columns:
        assert col.subject is not None
        visible = col.name.lower() if col.mask_expr is None else None
        is_unique = col.subject in table.subject_unique
        weight = weight_column(col.name) if col.subject in table.subject_weighted else None
        slots.append(Slot(subject_column(col.name), col.subject, "scalar", is_unique, visible, weight=weight))
        if membership:
            slots.append(Slot(element_column(col.name), col.subject, "scalar", False, None, counted=False))
        if is_unique and visible:
            unique.add(visible)
    return SlotRelation(slots, frozenset(unique))


def enforce_k(
    tree: exp.Query, policy: GrantPolicy, *, membership: bool = False, copy: bool = True
) -> tuple[exp.Query, KReport]:
    """Rewrite a checked, normalised tree so that the engine suppresses rows below k (domain only)."""
    if copy:
        tree = tree.copy()
    rewriter = _K(policy, membership=membership)
    rewriter.query(tree, role="final")
    return (rewriter.replacement or tree), rewriter.report


_Source = tuple[str, SlotRelation]
_Rep = tuple[str, Slot, bool]  # (alias, slot, rows of that source not duplicated by joins)


class _K:
    def __init__(self, policy: GrantPolicy, *, membership: bool) -> None:
        self.policy = policy
        self.k = policy.k
        self.membership = membership
        self.counter = 0
        self.ctes: list[dict[str, SlotRelation]] = []
        self.report = KReport()
        self.replacement: exp.Select | None = None  # the top-level answer, when the fast path rewrote it

    def name(self, prefix: str = "__od_k") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def query(self, node: exp.Expr, *, role: str) -> SlotRelation:
        while isinstance(node, exp.Subquery):
            node = node.this
        assert isinstance(node, exp.Select), "set operations are refused before the rewrite"
        frame: dict[str, SlotRelation] = {}
        self.ctes.append(frame)
        try:
            with_ = node.args.get("with_")
            for cte in with_.expressions if with_ is not None else []:
                frame[cte.alias_or_name] = self.query(cte.this, role="relation")
            return self.select(node, role=role)
        finally:
            self.ctes.pop()

    def source(self, src: exp.Expression) -> SlotRelation:
        if isinstance(src, exp.Table):
            if src.db:
                table = self.policy.table(f"{src.db}.{src.name}")
                assert table is not None
                return base_slots(table, membership=self.membership)
            for frame in reversed(self.ctes):
                if src.name in frame:
                    return frame[src.name]
            raise AssertionError(f"unknown relation {src.name}")
        assert isinstance(src, exp.Subquery)
        return self.query(src.this, role="relation")

    def select(self, select: exp.Select, *, role: str) -> SlotRelation:
        srcs: list[_Source] = [(s.alias_or_name, self.source(s)) for s in sources(select)]
        for clause in select_clauses(select):
            for node in own_nodes(clause):
                if isinstance(node, exp.Subquery) and node is not clause:
                    parent = node.parent
                    semi = isinstance(parent, exp.In) and parent.args.get("query") is node
                    self.query(node.this, role="filter" if semi else "scalar")
        all_eq, inner_eq = equalities(select)
        not_dup = not_duplicated(srcs, all_eq)
        reps = _representatives(srcs, inner_eq, not_dup)
        aggregating = is_aggregating(select)
        if role == "filter":
            return SlotRelation([])
        if role in ("final", "scalar"):
            with_members = self.membership and role == "final"
            if aggregating:
                self._final_aggregate(select, reps, with_members, role)
            else:
                self._final_rows(select, reps, with_members)
            return SlotRelation([])
        if aggregating:
            return self._inner_aggregate(select, reps)
        return self._inner_rows(select, reps, srcs, not_dup)

    # -- counting -------------------------------------------------------------------------------
    def count(self, alias: str, slot: Slot, not_dup: bool, cond: exp.Expr | None) -> exp.Expression:
        value: exp.Expression = column(alias, slot.column)
        if cond is not None:
            value = exp.Case(ifs=[exp.If(this=cond.copy(), true=value)])
        if slot.kind == "set":
            flat = exp.Anonymous(this="flatten", expressions=[exp.Anonymous(this="list", expressions=[value])])
            size = exp.Anonymous(this="len", expressions=[exp.Anonymous(this="list_distinct", expressions=[flat])])
            return exp.Coalesce(this=size, expressions=[exp.Literal.number(0)])
        if slot.unique and not_dup:
            if slot.weight:  # a unique subject weighs 1 per row (0 when NULL): a sum of a cheap column
                weight: exp.Expression = column(alias, slot.weight)
                if cond is not None:
                    weight = exp.Case(ifs=[exp.If(this=cond.copy(), true=weight)])
                return exp.Coalesce(this=exp.Sum(this=weight), expressions=[exp.Literal.number(0)])
            return exp.Count(this=value)
        return exp.Count(this=exp.Distinct(expressions=[value]))

    def _note(self, reps: list[_Rep]) -> None:
        for _alias, slot, _nd in reps:
            self.report.subject_types.add(slot.type)

    def _final_aggregate(self, select: exp.Select, reps: list[_Rep], with_members: bool, role: str) -> None:
        members = [r for r in reps if not r[1].counted]
        reps = [r for r in reps if r[1].counted]
        self._note(reps)
        regions = collect_regions(select)
        # the weighted fast path: top-level answer, no conditional region, no DISTINCT over the result
        fast = (role == "final" and not with_members and all(r.not_null for r in regions)
                and select.args.get("distinct") is None)
        checks: list[exp.Expression] = []
        deferred: list[Deferred] = []
        for alias, slot, nd in reps:
            def count(c: exp.Expr | None, a: str = alias, s: Slot = slot, n: bool = nd) -> exp.Expression:
                return self.count(a, s, n, c)

            if fast and slot.kind == "scalar" and slot.weight and nd and not slot.unique:
                conditions = weighted_requirements(regions)
                rows = [rows_in(r) for r in regions]
                deferred.append(Deferred(alias, slot.column, slot.weight, conditions, rows))
                how = "weight sum, exact count where uncertain"
            else:
                checks.append(exp.GTE(this=count(None), expression=exp.Literal.number(self.k)))
                checks.extend(region_checks(regions, count, self.k))
                how = "set" if slot.kind == "set" else ("count" if slot.unique and nd else "count distinct")
            self.report.decisions.append(f"k={self.k} on {slot.type} ({alias}.{slot.column}, {how})")
        if regions:
            self.report.decisions.append(f"{len(regions)} aggregate region(s) checked: 0 or ≥ k subjects each")
        if with_members:
            self._membership_outputs(select, members, lambda a, s: self._as_list(a, s))
        if deferred:
            self.replacement = two_phase(select, checks, deferred, self.k)
            return
        _add_condition(select, "having", checks)

    def _final_rows(self, select: exp.Select, reps: list[_Rep], with_members: bool) -> None:
        members = [r for r in reps if not r[1].counted]
        reps = [r for r in reps if r[1].counted]
        self._note(reps)
        checks: list[exp.Expression] = []
        for alias, slot, _nd in reps:
            if slot.kind != "set":
                raise QueryRefused(NOT_AGGREGATED, msg.NOT_AGGREGATED, rule=RULE_RAW_DATA)
            size = exp.Anonymous(this="len", expressions=[column(alias, slot.column)])
            checks.append(exp.GTE(this=size, expression=exp.Literal.number(self.k)))
            self.report.decisions.append(f"k={self.k} on {slot.type} ({alias}.{slot.column}, set)")
        if with_members:
            self._membership_outputs(select, members, lambda a, s: column(a, s.column))
        _add_condition(select, "where", checks)

    def _as_list(self, alias: str, slot: Slot) -> exp.Expression:
        value: exp.Expression = column(alias, slot.column)
        if slot.kind == "set":
            value = exp.Anonymous(this="flatten", expressions=[exp.Anonymous(this="list", expressions=[value])])
        else:
            value = exp.Anonymous(this="list", expressions=[value])
        return exp.Anonymous(this="list_distinct", expressions=[value])

    def _membership_outputs(self, select: exp.Select, reps: list[_Rep], build) -> None:  # type: ignore[no-untyped-def]
        for alias, slot, _nd in reps:
            name = self.name("__od_m")
            select.append("expressions", exp.alias_(build(alias, slot), name, quoted=True))
            self.report.membership.setdefault(slot.type, []).append(name)

    def _inner_aggregate(self, select: exp.Select, reps: list[_Rep]) -> SlotRelation:
        group = select.args.get("group")
        keys = [strip(k) for k in (group.expressions if group is not None else [])]
        projected = _projected_columns(select)
        slots: list[Slot] = []
        for alias, slot, _nd in reps:
            name = self.name()
            key_match = slot.kind == "scalar" and slot.visible is not None and any(
                isinstance(k, exp.Column) and k.table == alias and k.name == slot.visible for k in keys
            )
            if key_match:
                value: exp.Expression = exp.Anonymous(this="any_value", expressions=[column(alias, slot.column)])
                visible = projected.get((alias, slot.visible or ""))
                slots.append(Slot(name, slot.type, "scalar", len(keys) == 1, visible, slot.counted))
            else:
                value = self._as_list(alias, slot)
                slots.append(Slot(name, slot.type, "set", False, None, slot.counted))
            select.append("expressions", exp.alias_(value, name, quoted=True))
        unique: set[str] = set()
        if len(keys) == 1 and isinstance(keys[0], exp.Column):
            out = projected.get(_column_key(keys[0]))
            if out:
                unique.add(out)
        return SlotRelation(slots, frozenset(unique))

    def _inner_rows(
        self, select: exp.Select, reps: list[_Rep], srcs: list[_Source], not_dup: set[str]
    ) -> SlotRelation:
        projected = _projected_columns(select)
        slots: list[Slot] = []
        for alias, slot, nd in reps:
            name = self.name()
            select.append("expressions", exp.alias_(column(alias, slot.column), name, quoted=True))
            visible = projected.get((alias, slot.visible)) if slot.visible else None
            slots.append(Slot(name, slot.type, slot.kind, slot.unique and nd, visible, slot.counted))
        unique: set[str] = set()
        by_alias = dict(srcs)
        for (alias, col), out in projected.items():
            if alias in not_dup and alias in by_alias and col in by_alias[alias].unique_columns:
                unique.add(out)
        return SlotRelation(slots, frozenset(unique))


def _projected_columns(select: exp.Select) -> dict[tuple[str, str], str]:
    """(relation, column) of each projection that is a bare column → its output name."""
    return {_column_key(strip(p)): p.alias_or_name for p in select.expressions if isinstance(strip(p), exp.Column)}


def _column_key(node: exp.Expression) -> tuple[str, str]:
    assert isinstance(node, exp.Column)
    return (node.table, node.name)


def _add_condition(select: exp.Select, clause: str, checks: list[exp.Expression]) -> None:
    if not checks:
        return
    existing = select.args.get(clause)
    parts = ([exp.Paren(this=existing.this)] if existing is not None else []) + [
        exp.Paren(this=c) if isinstance(c, exp.Or) else c for c in checks
    ]
    condition = exp.and_(*parts, copy=False)
    select.set(clause, exp.Having(this=condition) if clause == "having" else exp.Where(this=condition))


def equalities(select: exp.Select) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """Column = column conjuncts between two relations: (all of them, those of inner joins / WHERE)."""
    everything: list[tuple[str, str, str, str]] = []
    inner: list[tuple[str, str, str, str]] = []
    where = select.args.get("where")
    groups: list[tuple[exp.Expression | None, bool]] = [(where.this if where is not None else None, True)]
    for join in select.args.get("joins") or []:
        side = (join.args.get("side") or "").upper()
        groups.append((join.args.get("on"), side == ""))
    for condition, is_inner in groups:
        for conj in conjuncts(condition):
            if isinstance(conj, exp.EQ):
                left, right = strip(conj.this), strip(conj.expression)
                if isinstance(left, exp.Column) and isinstance(right, exp.Column) and left.table != right.table:
                    pair = (left.table, left.name, right.table, right.name)
                    everything.append(pair)
                    if is_inner:
                        inner.append(pair)
    return everything, inner


def not_duplicated(srcs: list[_Source], equalities: list[tuple[str, str, str, str]]) -> set[str]:
    """Sources none of whose rows a join can repeat: every other source is reached from it through
    equalities with a column unique in the reached source (each row then matches at most one row)."""
    unique = {alias: rel.unique_columns for alias, rel in srcs}
    edges: dict[str, set[str]] = {alias: set() for alias, _ in srcs}
    for a1, c1, a2, c2 in equalities:
        if a1 in edges and a2 in edges:
            if c2 in unique.get(a2, frozenset()):
                edges[a1].add(a2)
            if c1 in unique.get(a1, frozenset()):
                edges[a2].add(a1)
    result: set[str] = set()
    for alias, _ in srcs:
        seen, stack = {alias}, [alias]
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        if len(seen) == len(srcs):
            result.add(alias)
    return result


def _representatives(
    srcs: list[_Source], inner_eq: list[tuple[str, str, str, str]], not_dup: set[str]
) -> list[_Rep]:
    """One slot per group of slots that inner-join equalities prove equal (the cheapest to count)."""
    items = [(alias, slot) for alias, rel in srcs for slot in rel.slots]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index = {(alias, slot.visible): i for i, (alias, slot) in enumerate(items) if slot.visible}
    for a1, c1, a2, c2 in inner_eq:
        i, j = index.get((a1, c1)), index.get((a2, c2))
        if i is not None and j is not None and items[i][1].type == items[j][1].type:
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)

    def cost(i: int) -> int:
        alias, slot = items[i]
        if not slot.counted:
            return 4
        if slot.kind == "scalar" and slot.unique and alias in not_dup:
            return 0
        if slot.kind == "scalar" and slot.weight and alias in not_dup:
            return 1
        return 2 if slot.kind == "scalar" else 3

    reps: list[_Rep] = []
    for members in groups.values():
        best = min(members, key=cost)
        alias, slot = items[best]
        reps.append((alias, slot, alias in not_dup))
    return reps
