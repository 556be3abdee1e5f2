"""Hypothesis strategies and a DuckDB runner shared by the privacy tests (imported by name)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st
from stdnum import luhn

from opdomain.privacy.identifiers import (
    CREDIT_CODE_ALPHABET,
    PROVINCE_CODES,
    credit_code_check_digit,
    org_code_check_digit,
    resident_id_check_digit,
)

KEY_A = "0f" * 32
KEY_B = "a5" * 32


def run(con, expr: str, values: list, sql_type: str = "VARCHAR") -> list:
    """Evaluate ``expr`` over column ``v`` holding ``values`` (order kept)."""
    rows = con.execute(
        f"SELECT {expr} FROM (SELECT unnest(range(len(l))) AS i, unnest(l) AS v "
        f"FROM (SELECT ?::{sql_type}[] AS l)) ORDER BY i",
        [values],
    ).fetchall()
    return [r[0] for r in rows]


@st.composite
def resident_ids(draw) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    county = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today() - dt.timedelta(days=1)))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    body = f"{province}{county}{birth:%Y%m%d}{sequence}"
    return body + resident_id_check_digit(body)


@st.composite
def credit_codes(draw) -> str:
    head = draw(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=2, max_size=2))
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    org_body = draw(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=8, max_size=8))
    first17 = head + region + org_body + org_code_check_digit(org_body)
    return first17 + credit_code_check_digit(first17)


@st.composite
def bank_cards(draw) -> str:
    first = draw(st.sampled_from("3456"))
    rest = draw(st.text(alphabet="0123456789", min_size=14, max_size=17))
    body = first + rest
    return body + luhn.calc_check_digit(body)


@st.composite
def mobiles(draw) -> str:
    second = draw(st.sampled_from("3456789"))
    return "1" + second + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))


@st.composite
def corrupted(draw, valid: st.SearchStrategy[str], alphabet: str) -> str:
    """A valid identifier with one character replaced by a different one (case changes excluded)."""
    value = draw(valid)
    pos = draw(st.integers(0, len(value) - 1))
    new = draw(st.sampled_from(alphabet).filter(lambda c: c.upper() != value[pos].upper()))
    return value[:pos] + new + value[pos + 1 :]
