"""Mask kinds run in a real DuckDB (R1.1b; desensitized data R4.2b; the dev copy R4.4d)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opdomain.errors import InvalidInput
from opdomain.privacy.identifiers import IdentifierType
from opdomain.privacy.masking import (
    GRADE_MASKS,
    GRADES,
    IDENTIFIER_MASKS,
    MASK_KINDS,
    VALUE_TYPES,
    default_mask_for,
    mask_sql,
    new_mask_key,
    perturb,
    pseudonym,
    pseudonym_sql,
    quote_ident,
)
from opdomain.privacy.surnames import COMMON_SURNAMES, COMPOUND_SURNAMES
from tests.privacy.privacy_helpers import KEY_A, KEY_B, bank_cards, credit_codes, mobiles, resident_ids, run

SQL_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SAMPLES = [None, "", "张", "张三", "欧阳娜娜", "11010519491231002X", "13812345678", "ab"]
SAMPLES.append("浙江省温州市永嘉县瓯北街道双塔路123号")


def _mask(con, kind, values, sql_type="VARCHAR", **params):
    return run(con, mask_sql(kind, "v", key_hex=KEY_A, **params), values, sql_type)


# --- the catalogue ---------------------------------------------------------------------------------


def test_catalogue_declares_every_required_kind():
    required = {
        "redact", "show_first_n", "show_last_n", "show_first_last", "hash", "pseudonym", "null",
        "generalize_date", "band_number", "perturb_number", "resident_id", "credit_code", "mobile",
        "bank_card", "person_name", "address",
    }  # fmt: skip
    assert required <= set(MASK_KINDS)


@pytest.mark.parametrize("kind", sorted(MASK_KINDS))
def test_every_kind_is_well_formed_and_renders_with_its_defaults(kind):
    mask = MASK_KINDS[kind]
    assert mask.name == kind and mask.title_zh and mask.title_en
    assert mask.applies_to and mask.applies_to <= set(VALUE_TYPES)
    assert set(mask.limits) | set(mask.choices) == set(mask.params)
    sql = mask_sql(kind, '"v"', key_hex=KEY_A)
    assert "{" not in sql.replace("{17}", "")  # no placeholder left behind


@pytest.mark.parametrize("kind", sorted(k for k, m in MASK_KINDS.items() if "string" in m.applies_to))
def test_every_text_kind_runs_on_nulls_empties_and_cjk(con, kind):
    out = _mask(con, kind, SAMPLES)
    assert out[0] is None  # NULL stays NULL
    assert out[1] in ("", None)  # empty stays empty (or null for the null kind)
    for original, masked in zip(SAMPLES[2:], out[2:], strict=True):
        if masked is not None and len(original) > 1:
            assert masked != original, (kind, original)


# --- expected outputs of each kind -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "value", "expected"),
    [
        ("redact", {}, "秘密", "***"),
        ("show_first_n", {"n": 2}, "abcdef", "ab****"),
        ("show_first_n", {"n": 4}, "abc", "***"),  # never shown whole
        ("show_last_n", {"n": 2}, "abcdef", "****ef"),
        ("show_first_last", {"first": 1, "last": 2}, "abcdef", "a***ef"),
        ("resident_id", {}, "33032419900101123X", "330324********123X"),
        ("resident_id", {"first": 3, "last": 1}, "33032419900101123X", "330**************X"),
        ("credit_code", {}, "91330324MA2AQ1XX0X", "91330324**********"),
        ("mobile", {}, "13812345678", "138****5678"),
        ("bank_card", {}, "6222021234567890123", "622202*********0123"),
        ("person_name", {}, "张三", "张*"),
        ("person_name", {}, "李小龙", "李**"),
        ("person_name", {}, "欧阳娜娜", "欧阳**"),
        ("person_name", {}, "欧阳", "欧*"),  # two characters: surname 欧, given name 阳
        ("person_name", {}, "诸葛亮", "诸葛*"),
        ("address", {}, "浙江省温州市永嘉县瓯北街道双塔路123号", "浙江省温州市永嘉县***"),
        ("address", {}, "温州市鹿城区人民路8号3幢201室", "温州市鹿城区***"),
        ("address", {}, "浙江省瑞安市安阳街道万松路56号", "浙江省瑞安市安阳街道***"),
        ("address", {}, "温州市鹿城路100号", "温州市***"),
        ("address", {}, "双塔路123号", "***"),
        ("address", {}, "人民路小区3幢", "***"),  # 区 of 小区 after a road: the road is not kept
        ("hash", {}, "abc", hashlib.sha256(b"abc").hexdigest()),
    ],
)
def test_kind_output(con, kind, params, value, expected):
    assert _mask(con, kind, [value], **params) == [expected]


def test_mobile_and_bank_card_masks_take_integer_columns(con):
    assert _mask(con, "mobile", [13812345678, None], "BIGINT") == ["138****5678", None]
    assert _mask(con, "bank_card", [4111111111111111], "HUGEINT") == ["411111******1111"]


def test_null_kind_keeps_the_column_type(con):
    expr = mask_sql("null", "v")
    assert con.execute(f"SELECT typeof({expr}), {expr} FROM (SELECT DATE '2020-01-02' AS v)").fetchall() == [
        ("DATE", None)
    ]


@pytest.mark.parametrize(
    ("to", "expected"),
    [("year", dt.date(1990, 1, 1)), ("quarter", dt.date(1990, 4, 1)), ("month", dt.date(1990, 5, 1))],
)
def test_generalize_date(con, to, expected):
    assert _mask(con, "generalize_date", [dt.date(1990, 5, 17), None], "DATE", to=to) == [expected, None]
    assert _mask(con, "generalize_date", [dt.datetime(1990, 5, 17, 8, 30)], "TIMESTAMP", to=to) == [expected]


@pytest.mark.parametrize(
    ("sql_type", "values", "expected"),
    [
        ("INTEGER", [12345, 9999, 10000, -1, 0, None], [10000, 0, 10000, -10000, 0, None]),
        ("DOUBLE", [12345.5, -0.5], [10000.0, -10000.0]),
        ("DECIMAL(12,2)", [Decimal("25000.75")], [Decimal("20000.00")]),
    ],
)
def test_band_number_floors_to_the_band_lower_bound(con, sql_type, values, expected):
    assert _mask(con, "band_number", values, sql_type, width=10000) == expected


def test_band_number_keeps_integer_type(con):
    expr = mask_sql("band_number", "v", width=10)
    assert con.execute(f"SELECT typeof({expr}) FROM (SELECT 17::BIGINT AS v)").fetchone() == ("BIGINT",)


# --- keyed kinds: SQL equals Python ------------------------------------------------------------------


def test_sql_hmac_is_real_hmac_sha256(con):
    # the pseudonym is built on HMAC-SHA256 under a derived sub-key; recompute it independently
    subkey = hmac.new(bytes.fromhex(KEY_A), b"opdomain/mask/pseudonym", hashlib.sha256).digest()
    expected = "P_" + hmac.new(subkey, "张三".encode(), hashlib.sha256).hexdigest()[:16]
    assert run(con, pseudonym_sql("v", KEY_A), ["张三"]) == [expected] == [pseudonym("张三", KEY_A)]


@SQL_SETTINGS
@given(
    st.lists(st.one_of(st.text(max_size=30), resident_ids(), st.none()), min_size=1, max_size=20),
    st.sampled_from(["P_", "E_", "X_", ""]),
    st.integers(8, 64),
)
def test_pseudonym_sql_agrees_with_python(con, values, prefix, length):
    sql = pseudonym_sql("v", KEY_A, prefix, length)
    assert run(con, sql, values) == [pseudonym(v, KEY_A, prefix, length) for v in values]


@SQL_SETTINGS
@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=20))
def test_pseudonym_of_integers_agrees_with_python(con, values):
    assert run(con, pseudonym_sql("v", KEY_A), values, "BIGINT") == [pseudonym(v, KEY_A) for v in values]


@given(resident_ids())
def test_pseudonym_is_stable_per_key_and_differs_across_keys(value):
    assert pseudonym(value, KEY_A) == pseudonym(value, KEY_A)
    assert pseudonym(value, KEY_A) != pseudonym(value, KEY_B)
    assert pseudonym(value, KEY_A, "E_").startswith("E_")


def test_pseudonym_keeps_null_and_empty():
    assert pseudonym(None, KEY_A) is None
    assert pseudonym("", KEY_A) == ""


def test_grant_key_never_appears_in_sql():
    key = new_mask_key()
    for kind in ("pseudonym", "perturb_number"):
        sql = mask_sql(kind, "v", key_hex=key)
        assert key not in sql and key.upper() not in sql


@SQL_SETTINGS
@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=20), st.integers(1, 50))
def test_perturb_sql_agrees_with_python_and_stays_within_bounds(con, values, percent):
    out = _mask(con, "perturb_number", values, "BIGINT", percent=percent)
    for value, noisy in zip(values, out, strict=True):
        assert noisy == pytest.approx(perturb(value, KEY_A, percent), rel=1e-12, abs=1e-9)
        assert abs(noisy - value) <= abs(value) * percent / 100 + 1e-9


def test_perturb_is_repeatable_keyed_and_never_random(con):
    first = _mask(con, "perturb_number", [1000.0, 1000.0, 2500.5, None], "DOUBLE")
    again = _mask(con, "perturb_number", [1000.0, 1000.0, 2500.5, None], "DOUBLE")
    assert first == again and first[0] == first[1] and first[3] is None
    assert first[2] == pytest.approx(perturb(2500.5, KEY_A))
    other_key = run(con, mask_sql("perturb_number", "v", key_hex=KEY_B), [1000.0], "DOUBLE")
    assert other_key != first[:1]
    assert "random" not in mask_sql("perturb_number", "v", key_hex=KEY_A)


# --- masked identifiers never contain the original -------------------------------------------------------

given_names = st.text(alphabet="明华芳娜伟强磊军", min_size=1, max_size=2)
names = st.one_of(
    st.tuples(st.sampled_from(sorted(COMMON_SURNAMES)), given_names),
    st.tuples(st.sampled_from(COMPOUND_SURNAMES), given_names),
).map("".join)
addresses = st.builds(
    "{}{}路{}号".format,
    st.sampled_from(["浙江省温州市永嘉县", "温州市鹿城区", "温州市", ""]),
    st.sampled_from(["双塔", "人民", "江滨"]),
    st.integers(1, 9999),
)


@SQL_SETTINGS
@given(
    st.one_of(
        resident_ids().map(lambda v: (IdentifierType.RESIDENT_ID, v)),
        credit_codes().map(lambda v: (IdentifierType.CREDIT_CODE, v)),
        mobiles().map(lambda v: (IdentifierType.MOBILE, v)),
        bank_cards().map(lambda v: (IdentifierType.BANK_CARD, v)),
        names.map(lambda v: (IdentifierType.PERSON_NAME, v)),
        addresses.map(lambda v: (IdentifierType.ADDRESS, v)),
    )
)
def test_masked_identifiers_never_contain_the_original(con, case):
    identifier, value = case
    kinds = {identifier.value, IDENTIFIER_MASKS[identifier][0], "redact", "hash", "pseudonym"}
    kinds.add("show_first_last")
    for kind in kinds & set(MASK_KINDS):
        (masked,) = run(con, mask_sql(kind, "v", key_hex=KEY_A), [value])
        assert value not in masked, (kind, value, masked)


def test_resident_id_mask_hides_the_birth_date(con):
    (masked,) = _mask(con, "resident_id", ["33032419900101123X"], first=6, last=4)
    assert "19900101" not in masked and "1990" not in masked


# --- attacks: parameters never carry SQL --------------------------------------------------------------


class SneakyInt(int):
    def __str__(self) -> str:
        return "1) || (SELECT 'pwned'"

    __repr__ = __format__ = lambda self, *a: str(self)  # noqa: E731


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("show_first_n", {"n": "4); DROP TABLE t; --"}),
        ("show_first_n", {"n": "4"}),
        ("show_first_n", {"n": 4.0}),
        ("show_first_n", {"n": True}),
        ("show_first_n", {"n": SneakyInt(4)}),
        ("show_first_n", {"n": -1}),
        ("show_first_n", {"n": 10**6}),
        ("resident_id", {"first": 14}),  # would show the birth date
        ("pseudonym", {"prefix": "P_' || (SELECT secret FROM keys) || '"}),
        ("pseudonym", {"prefix": "Q_"}),
        ("pseudonym", {"length": 4}),
        ("generalize_date", {"to": "day"}),
        ("generalize_date", {"to": "year'), (SELECT 1"}),
        ("band_number", {"width": 0}),
        ("band_number", {"width": "1000"}),
        ("perturb_number", {"percent": 90}),
        ("redact", {"mask_char": "#"}),
        ("mobile", {"first": 3, "evil": 1}),
    ],
)
def test_injected_or_out_of_range_params_are_refused(kind, params):
    with pytest.raises(InvalidInput) as refused:
        mask_sql(kind, "v", key_hex=KEY_A, **params)
    assert refused.value.code in {"mask.invalid_param", "mask.unknown_param"}
    assert refused.value.message.zh and refused.value.message.en


@pytest.mark.parametrize("kind", ["drop table t", "", None, "REDACT"])
def test_unknown_kinds_are_refused(kind):
    with pytest.raises(InvalidInput) as refused:
        mask_sql(kind, "v")
    assert refused.value.code == "mask.unknown_kind"


@pytest.mark.parametrize("key", [None, "", "00" * 31, "zz" * 32, "'" + "0" * 62 + "'", "0" * 63 + "'"])
def test_keyed_kinds_need_a_well_formed_key(key):
    with pytest.raises(InvalidInput):
        mask_sql("pseudonym", "v", key_hex=key)
    with pytest.raises(InvalidInput):
        pseudonym("x", key)


def test_value_type_must_be_one_the_kind_applies_to():
    with pytest.raises(InvalidInput) as refused:
        mask_sql("generalize_date", "v", value_type="string")
    assert refused.value.code == "mask.not_applicable"
    assert mask_sql("generalize_date", "v", value_type="date")


def test_quoted_column_names_stay_column_names(con):
    evil = "x'); DROP TABLE t; --{n}"
    con.execute(f"CREATE TABLE t AS SELECT 'abcdef' AS {quote_ident(evil)}")
    expr = mask_sql("show_first_n", quote_ident(evil), n=2)
    assert con.execute(f"SELECT {expr} FROM t").fetchall() == [("ab****",)]
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


# --- default policy for the development copy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "identifier", "value_type", "expected"),
    [
        ("L1", "resident_id", "string", ("pseudonym", {"prefix": "P_"})),  # identifiers whatever the grade
        ("L4", "resident_id", "string", ("pseudonym", {"prefix": "P_"})),
        ("L3", "credit_code", "string", ("pseudonym", {"prefix": "E_"})),
        ("L4", "person_name", "string", ("person_name", {})),
        ("L3", "mobile", "string", ("mobile", {})),
        ("L3", "bank_card", "string", ("bank_card", {})),
        ("L4", "address", "string", ("address", {})),
        ("L4", None, "number", ("perturb_number", {"percent": 20})),
        ("L3", None, "integer", ("perturb_number", {"percent": 10})),
        ("L4", None, "date", ("generalize_date", {"to": "year"})),
        ("L3", None, "date", ("generalize_date", {"to": "month"})),
        ("L4", None, "string", ("redact", {})),
        ("L1", None, "number", None),
        ("L2", None, "string", None),
        ("L2", None, "date", None),
    ],
)
def test_default_mask_for(grade, identifier, value_type, expected):
    assert default_mask_for(grade, identifier, value_type) == expected


@pytest.mark.parametrize(
    ("grade", "identifier", "value_type"),
    [("L5", None, "string"), ("l4", None, "string"), ("L4", "passport", "string"), ("L4", None, "blob")],
)
def test_default_mask_for_refuses_unknown_inputs(grade, identifier, value_type):
    with pytest.raises(InvalidInput):
        default_mask_for(grade, identifier, value_type)


@pytest.mark.parametrize("grade", GRADES)
@pytest.mark.parametrize("value_type", VALUE_TYPES)
def test_every_default_mask_applies_to_its_value_type(grade, value_type):
    chosen = default_mask_for(grade, None, value_type)
    if chosen:
        kind, params = chosen
        assert mask_sql(kind, "v", key_hex=KEY_A, value_type=value_type, **params)
    assert (grade in ("L1", "L2")) <= (chosen is None)


def test_policy_tables_only_name_known_kinds():
    for kind, params in [*IDENTIFIER_MASKS.values(), *GRADE_MASKS.values()]:
        assert mask_sql(kind, "v", key_hex=KEY_A, **params)


def test_docs_describe_every_kind_and_the_policy():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "masking.md").read_text(encoding="utf-8")
    for kind in MASK_KINDS:
        assert f"| `{kind}` |" in doc, kind
    for identifier, (kind, _params) in IDENTIFIER_MASKS.items():
        assert f"| `{identifier.value}` | `{kind}`" in doc, identifier


def test_catalogue_cannot_be_widened_at_run_time():
    with pytest.raises(TypeError):
        MASK_KINDS["resident_id"].limits["first"] = (0, 18)  # type: ignore[index]
    with pytest.raises(TypeError):
        MASK_KINDS["evil"] = MASK_KINDS["redact"]  # type: ignore[index]
