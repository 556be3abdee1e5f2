"""Pass 7 — every read goes through the masked, consent-filtered base relation (R4.2b, R1.1b)."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest
from sqlglot import exp

from opdomain.compute.analysis import analyze
from opdomain.compute.analysis_base import BASE_ALIAS, isolate_base_tables, mask_expression
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.engine import open_engine
from opdomain.compute.policy import GrantPolicy

from .conftest import build_policy

H = "hrss.insured_employees"
R = "amr.enterprise_registry"


def isolated(sql: str, policy: GrantPolicy, environment: str) -> str:
    tree = resolve_scope(parse_statement(sql), policy)
    return isolate_base_tables(tree, policy, environment).sql(dialect="duckdb")


def test_every_table_reference_becomes_a_relation_of_granted_columns(policy: GrantPolicy) -> None:
    text = isolated(f"SELECT count(*) FROM {H} a JOIN {H} b ON a.uscc = b.uscc", policy, "domain")
    assert text.count(f'FROM "hrss"."insured_employees" AS "{BASE_ALIAS}"') == 2
    assert ') AS "a"' in text and ') AS "b"' in text


def test_masked_columns_are_read_masked_and_subjects_carried_raw(policy: GrantPolicy) -> None:
    text = isolated(f"SELECT count(DISTINCT person_id) FROM {H}", policy, "domain")
    assert "MD5(CAST(\"__od_base\".\"person_id\" AS TEXT))" in text
    assert '"__od_base"."person_id" AS "__od_s_person_id"' in text
    assert '"__od_base"."person_id" AS "person_id"' not in text


def test_dev_reads_the_dev_copy_as_is(policy: GrantPolicy) -> None:
    text = isolated(f"SELECT person_id FROM {H}", policy, "dev")
    assert "MD5" not in text and "__od_s_" not in text and "consent_" not in text


def test_consent_filters_every_table_with_a_subject_of_that_type() -> None:
    policy = build_policy(consent=frozenset({"enterprise"}))
    text = isolated(f"SELECT count(*) FROM {H} h JOIN {R} r ON h.uscc = r.uscc", policy, "domain")
    assert text.count('IN (SELECT "subject_id" FROM "consent_enterprise")') == 2
    assert "consent_person" not in text


def test_person_consent_filters_only_tables_with_a_person_subject() -> None:
    policy = build_policy(consent=frozenset({"person"}))
    text = isolated(f"SELECT count(*) FROM {H} h JOIN {R} r ON h.uscc = r.uscc", policy, "domain")
    assert text.count("consent_person") == 1


def test_a_cte_reads_the_isolated_relation_too(policy: GrantPolicy) -> None:
    text = isolated(f"WITH x AS (SELECT * FROM {H}) SELECT count(*) FROM x", policy, "domain")
    assert "MD5" in text


def test_mask_templates_substitute_the_column() -> None:
    col = exp.column("c", table="t")
    assert mask_expression("{col}", col).sql() == "t.c"
    assert mask_expression("left({col}, 3) || '***'", col).sql() == "(LEFT(t.c, 3) || '***')"


def test_the_masking_module_templates_parse_and_run(tables: dict[str, pa.Table]) -> None:
    masking = pytest.importorskip("opdomain.privacy.masking")
    template = masking.pseudonym_sql("{col}", "ab" * 32, "P_")
    policy = build_policy()
    policy = dataclasses.replace(policy, tables=tuple(
        dataclasses.replace(t, columns=tuple(
            dataclasses.replace(c, mask_expr=template) if c.name == "person_id" else c for c in t.columns))
        for t in policy.tables))
    analysed = analyze(f"SELECT count(DISTINCT person_id) AS n FROM {H}", policy, "domain")
    with open_engine(tables) as engine:
        _cols, rows, _cut = engine.run(analysed.rewritten_sql, 5)
    assert rows == [(len(set(tables[H].column("person_id").to_pylist())),)]  # a pseudonym per person


def test_consent_is_enforced_by_the_engine(tables: dict[str, pa.Table]) -> None:
    policy = build_policy(consent=frozenset({"enterprise"}))
    ents = tables["eit.mu_efficiency"].column("uscc").to_pylist()
    consenting = ents[::2]
    analysed = analyze("SELECT count(*) AS n FROM eit.mu_efficiency", policy, "domain")
    with open_engine(tables, consent={"enterprise": consenting}) as engine:
        _cols, rows, _cut = engine.run(analysed.rewritten_sql, 5)
    assert rows == [(len(consenting),)]
