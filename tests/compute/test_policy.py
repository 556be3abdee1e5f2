"""The grant as the analyser sees it: plain values and the per-column rules (R1.1b, R4.2b)."""

from __future__ import annotations

import pytest

from opdomain.compute.policy import (
    ColumnPolicy,
    GrantPolicy,
    TablePolicy,
    can_order_statistic,
    consent_relation,
    is_identifier,
    is_sensitive,
    weight_column,
)


def test_columns_are_validated() -> None:
    with pytest.raises(ValueError):
        ColumnPolicy("x", "string", "L5", None, None)
    with pytest.raises(ValueError):
        ColumnPolicy("x", "text", "L1", None, None)
    with pytest.raises(ValueError):
        ColumnPolicy("x", "string", "L1", None, "household")
    with pytest.raises(ValueError):
        ColumnPolicy("x", "string", "L1", None, None, mask_expr="md5(x)")


def test_tables_are_schema_qualified_and_k_is_at_least_two() -> None:
    with pytest.raises(ValueError):
        TablePolicy("insured_employees", ())
    with pytest.raises(ValueError):
        GrantPolicy("g", (), k=1)


@pytest.mark.parametrize("col, identifier, sensitive, order_statistic", [
    (ColumnPolicy("gender", "string", "L1", None, None), False, False, True),
    (ColumnPolicy("tax_per_mu", "number", "L2", None, None), False, False, True),
    (ColumnPolicy("sales_revenue", "number", "L3", None, None), False, False, False),
    (ColumnPolicy("monthly_wage", "number", "L4", None, None), False, True, False),
    (ColumnPolicy("uscc", "string", "L1", "credit_code", "enterprise"), True, True, False),
    (ColumnPolicy("phone", "string", "L4", "mobile", None), True, True, False),
])
def test_per_column_rules(col: ColumnPolicy, identifier: bool, sensitive: bool, order_statistic: bool) -> None:
    assert is_identifier(col) is identifier
    assert is_sensitive(col) is sensitive
    assert can_order_statistic(col) is order_statistic


def test_the_sqlglot_schema_holds_the_granted_columns_only(policy: GrantPolicy) -> None:
    schema = policy.sqlglot_schema()
    assert set(schema) == {"amr", "hrss", "stats", "eit"}
    assert schema["hrss"]["insured_employees"]["monthly_wage"] == "DOUBLE"
    assert "bank_card" not in schema["hrss"]["insured_employees"]


def test_lookups_ignore_case(policy: GrantPolicy) -> None:
    table = policy.table("HRSS.Insured_Employees")
    assert table is not None and table.column("Person_ID") is not None
    assert [t.name for t in policy.tables_named("MU_EFFICIENCY")] == ["eit.mu_efficiency"]
    assert [c.name for c in table.subject_columns] == ["uscc", "person_id"]


def test_hidden_relation_and_column_names() -> None:
    assert consent_relation("enterprise") == "consent_enterprise"
    assert weight_column("USCC") == "__od_w_uscc"
    with pytest.raises(ValueError):
        consent_relation("household")
