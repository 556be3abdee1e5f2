"""The 泵阀共富贷 rating job computes exactly SCENARIO.md's definition.

Cross-checked against an independent, plain-Python implementation of the same text on generated
data, so a mistake in the job's SQL (a weight, a mapping, the percentile rank, the boundaries)
shows up as a difference.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from opdomain.scenarios.generate import generate
from opdomain.scenarios.jobs import rating

WEIGHTS = {1: 10, 2: 6, 3: 8, 4: 8, 5: 6, 6: 8, 7: 6, 8: 4, 9: 8, 10: 6, 11: 8, 12: 6, 13: 8, 14: 8}
CONTINUOUS = (1, 2, 3, 5, 6, 7, 9, 10, 11, 12)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def reference(data: Path) -> dict[str, tuple[str, float, str]]:
    """uscc → (category, total, grade), straight from SCENARIO.md's words."""
    by = lambda t: {r["uscc"]: r for r in read(data / t)}  # noqa: E731
    eit, tax, stats = by("eit/mu_efficiency.csv"), by("tax/annual_tax.csv"), by("stats/sales_profit.csv")
    eco, sci, fin = by("eco/green_lowcarbon.csv"), by("sci/innovation.csv"), by("fin/shareholding_reform.csv")
    emp = Counter(r["uscc"] for r in read(data / "hrss/insured_employees.csv"))
    certs = Counter(r["uscc"] for r in read(data / "amr/certifications.csv"))
    values: dict[str, dict[int, float]] = {}
    category: dict[str, str] = {}
    for u, e in eit.items():
        rev = float(stats[u]["sales_revenue"])
        category[u] = "规上" if e["is_above_scale"] == "true" else "规下"
        values[u] = {
            1: float(e["tax_per_mu"]),
            2: float(e["value_added_per_mu"]),
            3: float(tax[u]["total_tax"]),
            4: {"A": 1.0, "B": 0.8, "M": 0.6, "C": 0.3, "D": 0.0}[tax[u]["tax_credit_grade"]],
            5: rev,
            6: float(stats[u]["total_profit"]),
            7: float(eco[u]["value_added_per_energy"]),
            8: {"绿": 1.0, "蓝": 0.8, "黄": 0.4, "红": 0.0}[eco[u]["env_credit_color"]],
            9: 0.0 if rev == 0 else float(sci[u]["rd_expense"]) / rev,
            10: float(sci[u]["invention_patents"]),
            11: float(stats[u]["labor_productivity"]),
            12: float(emp[u]),
            13: min(int(e["honors"]) + certs[u], 4) / 4,
            14: {"已上市": 1.0, "已完成股改": 0.8, "推进中": 0.5, "未启动": 0.0}[fin[u]["stage"]],
        }
    groups: dict[str, list[str]] = defaultdict(list)
    for u, c in category.items():
        groups[c].append(u)
    out = {}
    for cat, members in groups.items():
        n = len(members)
        totals = {}
        for u in members:
            total = 0.0
            for i in range(1, 15):
                v = values[u][i]
                if i in CONTINUOUS:
                    if n == 1:
                        score = 1.0
                    else:
                        smaller = sum(1 for o in members if values[o][i] < v)
                        equal = sum(1 for o in members if o != u and values[o][i] == v)
                        score = (smaller + 0.5 * equal) / (n - 1)
                else:
                    score = v
                total += score * WEIGHTS[i]
            totals[u] = total
        order = sorted(members, key=lambda u: (-totals[u], u))
        bounds = [
            int((Decimal(n) * Decimal(p)).quantize(Decimal(1), ROUND_HALF_UP)) for p in ("0.1", "0.3", "0.5", "0.8")
        ]
        for pos, u in enumerate(order, start=1):
            grade = "E"
            for g, b in zip("ABCD", bounds, strict=True):
                if pos <= b:
                    grade = g
                    break
            out[u] = (cat, totals[u], grade)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rating")
    generate(out, enterprises=157, seed=11)
    return out


def run_job(data: Path, tmp: Path) -> Path:
    inp, out = tmp / "in", tmp / "out"
    inp.mkdir()
    out.mkdir()
    for name in rating.TABLES:
        dept, table = name.split(".")
        (inp / f"{name}.parquet").symlink_to(data / dept / f"{table}.parquet")
    env = {"OPDOMAIN_IN": str(inp), "OPDOMAIN_OUT": str(out), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, rating.__file__], env=env, check=True, capture_output=True)
    return out


def test_rating_matches_the_scenario_definition(data: Path, tmp_path: Path) -> None:
    out = run_job(data, tmp_path)
    expected = reference(data)
    scores = duckdb.connect().execute(f"SELECT uscc, category, total, grade FROM '{out / 'scores.parquet'}'").fetchall()
    assert len(scores) == len(expected) == 157
    for uscc, cat, total, grade in scores:
        e_cat, e_total, e_grade = expected[uscc]
        assert (cat, grade) == (e_cat, e_grade), uscc
        assert total == pytest.approx(e_total, abs=1e-9)
        assert 0 <= total <= 100


def test_grades_split_each_category_1_2_2_3_2(data: Path, tmp_path: Path) -> None:
    out = run_job(data, tmp_path)
    rows = read(out / "rating_list.csv")
    assert list(rows[0]) == ["uscc", "category", "grade"]
    for cat in ("规上", "规下"):
        grades = Counter(r["grade"] for r in rows if r["category"] == cat)
        n = sum(grades.values())
        b = [int((Decimal(n) * Decimal(p)).quantize(Decimal(1), ROUND_HALF_UP)) for p in ("0.1", "0.3", "0.5", "0.8")]
        assert [grades[g] for g in "ABCDE"] == [b[0], b[1] - b[0], b[2] - b[1], b[3] - b[2], n - b[3]]


def test_statistics_hold_no_per_enterprise_value(data: Path, tmp_path: Path) -> None:
    out = run_job(data, tmp_path)
    dist = read(out / "grade_distribution.csv")
    assert {r["grade"] for r in dist} == set("ABCDE")
    assert sum(int(r["enterprises"]) for r in dist) == 157
    means = read(out / "grade_means.csv")
    assert "uscc" not in means[0] and "mean_score" in means[0]
