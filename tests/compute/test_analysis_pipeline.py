"""The contract of :func:`analyze`: the passes in order, the AnalyzedQuery, refusals as data (R4.4c)."""

from __future__ import annotations

import re
import string

import pytest

from opdomain.compute import messages
from opdomain.compute.analysis import AnalyzedQuery, QueryRefused, analyze
from opdomain.compute.policy import GrantPolicy
from opdomain.errors import Message

H = "hrss.insured_employees"


def test_a_domain_query_is_described_for_the_audit_record(policy: GrantPolicy) -> None:
    sql = f"/* note */ SELECT gender, count(*) AS n FROM {H} GROUP BY gender"
    analysed = analyze(sql, policy, "domain")
    assert isinstance(analysed, AnalyzedQuery)
    assert analysed.original_sql == sql
    assert "note" not in analysed.rewritten_sql  # the engine runs generated SQL, not the analyst's text
    assert analysed.tables == (H,)
    assert analysed.columns == (f"{H}.gender",)
    assert analysed.output_columns == ("gender", "n")
    assert analysed.subject_types == ("enterprise", "person")
    assert analysed.k == policy.k and analysed.environment == "domain"
    assert analysed.decisions[0] == "environment=domain"


def test_a_dev_query_has_no_k(policy: GrantPolicy) -> None:
    analysed = analyze(f"SELECT * FROM {H}", policy, "dev")
    assert analysed.k is None and analysed.subject_types == ()
    assert "dev data: rows visible, no k rule" in analysed.decisions
    assert len(analysed.output_columns) == len(policy.table(H).columns)  # type: ignore[union-attr]


def test_the_rewrite_is_deterministic(policy: GrantPolicy) -> None:
    sql = f"SELECT gender, avg(monthly_wage) FROM {H} WHERE monthly_wage > 1 GROUP BY gender"
    assert analyze(sql, policy, "domain").rewritten_sql == analyze(sql, policy, "domain").rewritten_sql


def test_an_unknown_environment_is_a_programming_error(policy: GrantPolicy) -> None:
    with pytest.raises(ValueError):
        analyze("SELECT 1", policy, "prod")  # type: ignore[arg-type]


def test_a_refusal_renders_as_the_api_error_shape(policy: GrantPolicy) -> None:
    with pytest.raises(QueryRefused) as info:
        analyze(f"SELECT person_id, count(*) FROM {H} GROUP BY 1", policy, "domain")
    body = info.value.to_dict()["error"]
    assert body["code"] == "query.identifier_in_output"
    assert "person_id" in body["message"] and "person_id" in body["message_en"]
    assert body["details"] == {"rule": "R1.1b", "column": f"{H}.person_id"}
    assert info.value.status == 422


def test_scope_violations_answer_403(policy: GrantPolicy) -> None:
    for sql in (f"SELECT secret FROM {H}", "SELECT count(*) FROM fin.shareholding_reform"):
        with pytest.raises(QueryRefused) as info:
            analyze(sql, policy, "domain")
        assert info.value.status == 403


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_and_the_same_placeholders() -> None:
    found = {name: value for name, value in vars(messages).items() if isinstance(value, Message)}
    assert len(found) > 20
    for name, message in found.items():
        assert message.zh.strip() and message.en.strip(), name
        assert re.search(r"[\u4e00-\u9fff]", message.zh), f"{name} has no Chinese text"
        assert _fields(message.zh) == _fields(message.en), name


@pytest.mark.parametrize("sql", [
    f"SELECT count(*) FROM {H} -- */ , (SELECT 1)\n",
    f"SELECT /* a */ count(*) /* b */ FROM {H} -- c",
    f"SELECT count(*) FROM {H} WHERE gender = '-- not a comment'",
])
def test_comments_never_reach_the_engine(sql: str, policy: GrantPolicy) -> None:
    rewritten = analyze(sql, policy, "domain").rewritten_sql
    assert "/*" not in rewritten and "--" not in rewritten.replace("'-- not a comment'", "")
