"""Identifiers in outputs (R1.1b): each kind caught, cells named, the identifier never echoed."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from opdomain.egress.check_identifiers import classify_tokens, mask
from opdomain.egress.checks import Outcome
from opdomain.egress.messages import Code
from opdomain.privacy.identifiers import CREDIT_CODE_ALPHABET, detect_identifiers, resident_id_check_digit
from tests.egress.egress_helpers import check, rating_list, write
from tests.privacy.privacy_helpers import bank_cards, corrupted, credit_codes, mobiles, resident_ids

RESIDENT_ID = "33032419850312001" + resident_id_check_digit("33032419850312001")
CREDIT_CODE = rating_list(3).column("uscc")[0].as_py()
MOBILE = "13812345678"
BANK_CARD = "622848001234567" + luhn.calc_check_digit("622848001234567")
ADDRESS = "浙江省温州市永嘉县瓯北街道双塔路123号"


@pytest.mark.parametrize(
    "column, values, kind",
    [
        ("note", [RESIDENT_ID, "无", "无"], "resident_id"),
        ("note", [f"企业 {CREDIT_CODE}", "无", "无"], "credit_code"),
        ("contact", ["无", MOBILE, "无"], "mobile"),
        ("account", ["无", "无", BANK_CARD], "bank_card"),
        ("姓名", ["王小明", "李娜", "张伟"], "person_name"),
        ("place", [ADDRESS, "无", "无"], "address"),
    ],
)
def test_each_identifier_kind_fails_with_its_cells_and_a_masked_example(tmp_path, column, values, kind):
    table = pa.table({"grade": list("ABC"), column: values, "n": [20, 30, 40]})
    report = check(write(tmp_path / "t.csv", table))
    failure = next(f for f in report.failures() if f.code == Code.IDENTIFIER and f.details["identifier"] == kind)
    assert failure.rule == "R1.1b"
    expected_rows = [i for i, v in enumerate(values) if v != "无"]
    assert [(c.row, c.column) for c in failure.cells] == [(r, column) for r in expected_rows]
    everything = failure.message.zh + failure.message.en + repr(failure.to_dict())
    for value in values:
        if value != "无":
            assert value not in everything


def test_a_bank_card_stored_as_a_number_is_still_found(tmp_path):
    table = pa.table({"grade": ["A"], "account": pa.array([int(BANK_CARD)], pa.int64()), "n": [20]})
    report = check(write(tmp_path / "t.parquet", table))
    assert any(f.details.get("identifier") == "bank_card" for f in report.failures())


def test_an_identifier_in_a_column_name_is_found(tmp_path):
    table = pa.table({"grade": ["A", "B"], MOBILE: [20, 30]})
    assert Code.IDENTIFIER_IN_HEADER in check(write(tmp_path / "t.csv", table)).codes(Outcome.FAIL)


def test_a_sporadic_name_like_label_goes_to_review_not_fail(tmp_path):
    table = pa.table({"township": ["瓯北街道", "黄田", "桥头镇", "乌牛街道"], "n": [20, 30, 40, 50]})
    report = check(write(tmp_path / "t.csv", table))
    assert report.failures() == ()
    assert Code.NAME_SUSPECTED in report.codes(Outcome.REVIEW)


def test_the_subject_key_of_an_approved_per_subject_output_is_allowed(tmp_path):
    ratings = rating_list(50)
    context = {
        "kind": "per_subject",
        "per_subject_columns": ("uscc", "category", "grade"),
        "consenting_subjects": frozenset(ratings.column("uscc").to_pylist()),
    }
    report = check(write(tmp_path / "ratings.csv", ratings), **context)
    assert Code.SUBJECT_KEY_ALLOWED in report.codes(Outcome.PASS)
    assert report.outcome is Outcome.PASS, [(f.code, f.message.en) for f in report.findings if f.outcome != "pass"]


def test_masks_keep_the_identifier_out():
    assert mask(RESIDENT_ID, "resident_id") == RESIDENT_ID[:3] + "*" * 13 + RESIDENT_ID[-2:]
    assert mask("王小明", "person_name") == "王**"
    assert mask(ADDRESS, "address") == "浙江省…"


# --- the bulk token classifier is the Python detector ------------------------------------------------

CON = duckdb.connect()
TOKENS = st.one_of(
    resident_ids(),
    credit_codes(),
    bank_cards(),
    mobiles(),
    mobiles().map(lambda m: "86" + m),
    mobiles().map(lambda m: "0086" + m),
    corrupted(resident_ids(), "0123456789X"),
    corrupted(credit_codes(), CREDIT_CODE_ALPHABET),
    corrupted(bank_cards(), "0123456789"),
    st.text(alphabet="0123456789", min_size=10, max_size=20),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXYabc", min_size=17, max_size=19),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(TOKENS, min_size=1, max_size=40, unique=True))
def test_bulk_token_classification_agrees_with_detect_identifiers(tokens):
    expected = {}
    for token in tokens:
        kinds = {m.type for m in detect_identifiers(token) if (m.start, m.end) == (0, len(token))}
        assert len(kinds) <= 1 and all(m.end - m.start == len(token) for m in detect_identifiers(token))
        if kinds:
            expected[token] = kinds.pop()
    assert classify_tokens(pa.array(tokens, pa.string()), CON) == expected
