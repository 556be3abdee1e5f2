"""Chinese identifiers: validators, engine-side SQL and detection (R1.1b; the airlock's checks, R4.4a)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from opdomain.privacy.identifiers import (
    CREDIT_CODE_ALPHABET,
    IdentifierType,
    Match,
    bank_card_valid_sql,
    credit_code_check_digit,
    credit_code_valid_sql,
    detect_identifiers,
    is_valid_bank_card,
    is_valid_credit_code,
    is_valid_mobile,
    is_valid_resident_id,
    luhn_valid_sql,
    mobile_valid_sql,
    org_code_check_digit,
    resident_id_check_digit,
    resident_id_valid_sql,
    scan_values,
    valid_sql,
)
from tests.privacy.privacy_helpers import bank_cards, corrupted, credit_codes, mobiles, resident_ids, run

# GB 11643-1999's own example, and stdnum's credit code example
RESIDENT_ID = "11010519491231002X"
CREDIT_CODE = "91110000600037341L"
BANK_CARD = "4111111111111111"
SQL_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- resident ID (GB 11643) ---------------------------------------------------------------------


def test_resident_id_standard_example_is_valid():
    assert is_valid_resident_id(RESIDENT_ID)
    assert resident_id_check_digit(RESIDENT_ID[:17]) == "X"


def test_resident_id_accepts_lower_case_x():
    assert is_valid_resident_id(RESIDENT_ID.lower())


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002",  # 17 characters
        "11010519491231002XX",  # 19 characters
        "00010519491231002X",  # no province 00
        "1101051949123100X2",  # X not last
        "11010518991231002X",  # born 1899
        "110105 19491231002X",
        None,
        19491231,
        "",
    ],
)
def test_resident_id_rejects_malformed(value):
    assert not is_valid_resident_id(value)


def test_resident_id_rejects_a_birth_date_in_the_future():
    body = "330324" + (dt.date.today() + dt.timedelta(days=1)).strftime("%Y%m%d") + "123"
    future = body + resident_id_check_digit(body)
    assert not is_valid_resident_id(future)
    assert is_valid_resident_id(future, today=dt.date.today() + dt.timedelta(days=2))


def test_resident_id_rejects_an_impossible_date():
    body = "33032420230230123"  # 30 February
    assert not is_valid_resident_id(body + resident_id_check_digit(body))


@given(resident_ids())
def test_generated_resident_ids_are_valid(value):
    assert is_valid_resident_id(value)


@given(corrupted(resident_ids(), "0123456789X"))
def test_any_single_substitution_in_a_resident_id_is_caught(value):
    # ISO 7064 MOD 11-2 detects every single-character substitution
    assert not is_valid_resident_id(value)


# --- credit code (GB 32100 + GB 11714) -----------------------------------------------------------


def test_credit_code_example_is_valid():
    assert is_valid_credit_code(CREDIT_CODE)
    assert is_valid_credit_code(CREDIT_CODE.lower())
    assert org_code_check_digit("60003734") == "1"


def test_credit_code_with_a_wrong_organisation_check_digit_is_rejected_though_stdnum_accepts_it():
    first16 = CREDIT_CODE[:16]
    bad_org = "2" if CREDIT_CODE[16] != "2" else "3"
    first17 = first16 + bad_org
    code = first17 + credit_code_check_digit(first17)
    assert uscc.is_valid(code)
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize(
    "value",
    ["91110000600037341M", "9111000060003734IL", "91110000600037341", "9A110000600037341L", None, ""],
)
def test_credit_code_rejects_malformed(value):
    assert not is_valid_credit_code(value)


def test_check_digit_helpers_refuse_bad_bodies():
    with pytest.raises(ValueError):
        resident_id_check_digit("1234")
    with pytest.raises(ValueError):
        credit_code_check_digit("91110000600037341I")
    with pytest.raises(ValueError):
        org_code_check_digit("6000373-")


@given(credit_codes())
def test_generated_credit_codes_are_valid(value):
    assert is_valid_credit_code(value)


@given(corrupted(credit_codes(), CREDIT_CODE_ALPHABET))
def test_any_single_substitution_in_a_credit_code_is_caught(value):
    assert not is_valid_credit_code(value)


# --- mobile, bank card -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("13812345678", True),
        ("19912345678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("+8613812345678", False),
        ("138 1234 5678", False),
        (None, False),
    ],
)
def test_mobile_validation(value, valid):
    assert is_valid_mobile(value) is valid


def test_bank_card_needs_16_to_19_digits_and_luhn():
    assert is_valid_bank_card(BANK_CARD)
    assert not is_valid_bank_card("4111111111111112")
    assert not is_valid_bank_card("411111111111111")  # 15 digits: too short for a bank card
    assert not is_valid_bank_card(4111111111111111)


@given(corrupted(bank_cards(), "0123456789"))
def test_any_single_substitution_in_a_bank_card_is_caught(value):
    assert not is_valid_bank_card(value)


# --- the SQL builders agree with Python ---------------------------------------------------------------

arbitrary_text = st.text(max_size=24)


def _agree(con, builder, python, values):
    assert run(con, builder("v"), values) == [python(v) for v in values]


@SQL_SETTINGS
@given(
    st.lists(st.one_of(resident_ids(), corrupted(resident_ids(), "0123456789Xx"), arbitrary_text, st.none()))
)
def test_resident_id_sql_agrees_with_python(con, values):
    _agree(con, resident_id_valid_sql, is_valid_resident_id, values)


@SQL_SETTINGS
@given(
    st.lists(
        st.one_of(
            credit_codes(),
            corrupted(credit_codes(), CREDIT_CODE_ALPHABET + "IOSVZ"),
            credit_codes().map(str.lower),
            arbitrary_text,
            st.none(),
        )
    )
)
def test_credit_code_sql_agrees_with_python(con, values):
    _agree(con, credit_code_valid_sql, is_valid_credit_code, values)


@SQL_SETTINGS
@given(st.lists(st.one_of(bank_cards(), corrupted(bank_cards(), "0123456789"), arbitrary_text, st.none())))
def test_bank_card_sql_agrees_with_python(con, values):
    _agree(con, bank_card_valid_sql, is_valid_bank_card, values)


@SQL_SETTINGS
@given(st.lists(st.one_of(mobiles(), arbitrary_text, st.none())))
def test_mobile_sql_agrees_with_python(con, values):
    _agree(con, mobile_valid_sql, is_valid_mobile, values)


@SQL_SETTINGS
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=19)))
def test_luhn_sql_agrees_with_stdnum(con, values):
    from stdnum import luhn

    _agree(con, luhn_valid_sql, luhn.is_valid, values)


def test_sql_validators_work_on_a_whole_column_and_on_non_text(con):
    con.execute(
        "CREATE TABLE people AS SELECT * "
        "FROM (VALUES (?, 4111111111111111), ('x', 4111111111111112)) t(id, card)",
        [RESIDENT_ID],
    )
    rows = con.execute(
        f"SELECT {resident_id_valid_sql('id')}, {bank_card_valid_sql('card')} FROM people ORDER BY id"
    ).fetchall()
    assert rows == [(True, True), (False, False)]
    assert valid_sql("person_name", "x") is None
    assert "regexp_full_match" in valid_sql(IdentifierType.MOBILE, "x")


# --- detection -----------------------------------------------------------------------------------


def _types(text):
    return [m.type for m in detect_identifiers(text)]


def test_detects_each_identifier_in_free_text():
    text = (
        f"申请人身份证{RESIDENT_ID}，电话+86 138-1234-5678，卡号4111 1111 1111 1111，"
        f"住浙江省温州市永嘉县瓯北街道双塔路123号，企业代码{CREDIT_CODE}。"
    )
    found = detect_identifiers(text)
    assert [m.type for m in found] == [
        IdentifierType.RESIDENT_ID,
        IdentifierType.MOBILE,
        IdentifierType.BANK_CARD,
        IdentifierType.ADDRESS,
        IdentifierType.CREDIT_CODE,
    ]
    assert found[0].value == RESIDENT_ID == text[found[0].start : found[0].end]
    assert "双塔路123号" in found[3].value


def test_match_repr_never_shows_the_identifier():
    (match,) = detect_identifiers(RESIDENT_ID)
    assert isinstance(match, Match)
    assert RESIDENT_ID not in repr(match)


@pytest.mark.parametrize(
    "text",
    [
        "温州市人民政府公报2023年第9号",  # an ordinal, not a house number
        "温政办〔2023〕77号",
        "订单号110105194912310021",  # resident-ID shape, wrong check digit
        "金额12345678901234567元",  # 17 digits
        "2023-09-15 10:00:00",
        "贷款余额 1,234,567.89 元",
        "周末",
        "高新区",
        "温州",
        "方案",
    ],
)
def test_no_false_positive_on_ordinary_text(text):
    assert detect_identifiers(text) == []


def test_check_digit_keeps_random_18_digit_numbers_mostly_unflagged():
    import random

    rng = random.Random(11643)
    tokens = ["".join(rng.choice("0123456789") for _ in range(18)) for _ in range(5000)]
    hits = sum(bool(detect_identifiers(t)) for t in tokens)
    # chance of a random 18-digit run being a valid ID or a Luhn-valid card of a card scheme: ~5 %
    assert hits / len(tokens) < 0.08


@pytest.mark.parametrize("name", ["张三", "李小龙", "欧阳娜娜", "诸葛亮", " 王芳 "])
def test_whole_cell_names_are_detected(name):
    assert _types(name) == [IdentifierType.PERSON_NAME]


@pytest.mark.parametrize("text", ["张三说他住在这里", "Zhang San", "张", "王小明明明"])
def test_names_are_only_whole_short_cells(text):
    assert IdentifierType.PERSON_NAME not in _types(text)


@pytest.mark.parametrize("text", ["双塔路123号", "鹿城区人民路8号3幢201室", "永嘉县桥头镇东岙村5组"])
def test_addresses_need_a_marker_and_a_house_number(text):
    assert _types(text) == [IdentifierType.ADDRESS]


def test_address_without_house_number_is_not_flagged():
    assert _types("浙江省温州市永嘉县") == []


@pytest.mark.parametrize("text", ["13812345678", "+8613812345678", "0086 138 1234 5678", "86-138-1234-5678"])
def test_mobile_variants(text):
    assert _types(text) == [IdentifierType.MOBILE]


def test_mobile_inside_a_longer_number_is_not_a_mobile():
    assert IdentifierType.MOBILE not in _types("2138123456789")


def test_scan_values_counts_cells_per_type():
    column = [
        RESIDENT_ID,
        RESIDENT_ID,
        None,
        "张三",
        "高新区",
        4111111111111111,
        f"电话13812345678 身份证{RESIDENT_ID}",
    ]
    counts = scan_values(column)
    assert counts == {
        IdentifierType.RESIDENT_ID: 3,
        IdentifierType.CREDIT_CODE: 0,
        IdentifierType.MOBILE: 1,
        IdentifierType.BANK_CARD: 1,
        IdentifierType.PERSON_NAME: 1,
        IdentifierType.ADDRESS: 0,
    }


@given(st.lists(st.one_of(resident_ids(), credit_codes(), mobiles(), bank_cards())))
def test_scan_values_finds_every_generated_identifier(values):
    assert sum(scan_values(values).values()) == len(values)
