"""Mask kinds as data, and the SQL that applies them (rules 一.(一) R1.1b, 四.(二) R4.2b, 四.(四) R4.4d).

Personal information and trade secrets reach an analyst only desensitized (R4.2b), and the development
copy on which models are trained is sampled and desensitized (R4.4d). As in Apache Ranger, the
catalogue of masks is data: each :class:`MaskKind` is a DuckDB SQL template with named parameters, and
:func:`mask_sql` is the one place that turns a kind, a column and parameters into an expression. The
engine wraps every masked column in that expression; nothing else builds masking SQL.

Safety of the generated SQL: a template is trusted code of this module; a parameter is either an
``int`` inside the kind's limits or a string from the kind's whitelist, checked before it is written,
so a parameter can never carry SQL. ``col_sql`` is trusted SQL built by the engine (use
:func:`quote_ident` for a bare column name).

Keyed kinds (``pseudonym``, ``perturb_number``) compute HMAC-SHA256 inside DuckDB. DuckDB has no
HMAC function, but HMAC is two plain hashes: ``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))``; the padded keys
are computed here and written as ``unhex('…')`` literals, DuckDB's ``sha256`` hashes the BLOB
concatenation, and the result equals Python's :mod:`hmac` bit for bit (the tests check this). Real
HMAC was chosen over ``sha256(key ‖ value)``: the secret-prefix hash is open to length extension
(harmless here only because outputs are truncated and inputs are not attacker-chosen — two
assumptions we would rather not rely on). The grant key itself never appears in SQL: each kind uses a
sub-key ``HMAC(grant key, "opdomain/mask/<kind>")``, so a leaked query text exposes one sub-key, and the
pseudonyms of one grant cannot be computed from the noise of another kind. The engine must still
never show rewritten SQL to the analyst.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from opdomain.errors import InvalidInput, Message
from opdomain.privacy.identifiers import IdentifierType
from opdomain.privacy.surnames import COMPOUND_SURNAMES

VALUE_TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "boolean")
GRADES: tuple[str, ...] = ("L1", "L2", "L3", "L4")

UNKNOWN_KIND = Message("未知的脱敏方式：{kind}", "unknown mask kind: {kind}")
UNKNOWN_PARAM = Message("脱敏方式 {kind} 没有参数 {param}", "mask kind {kind} has no parameter {param}")
INVALID_INT_PARAM = Message(
    "脱敏参数 {param} 须为 {low} 到 {high} 之间的整数",
    "mask parameter {param} must be an integer from {low} to {high}",
)
INVALID_CHOICE_PARAM = Message(
    "脱敏参数 {param} 须为以下取值之一：{choices}", "mask parameter {param} must be one of: {choices}"
)
KEY_REQUIRED = Message("脱敏方式 {kind} 需要授权密钥", "mask kind {kind} needs the grant's key")
INVALID_KEY = Message("密钥须为 64 位十六进制（32 字节）", "the key must be 64 hex digits (32 bytes)")
NOT_APPLICABLE = Message(
    "脱敏方式 {kind} 不适用于 {value_type} 类型", "mask kind {kind} does not apply to {value_type}"
)
UNKNOWN_GRADE = Message("未知的数据分级：{grade}", "unknown classification grade: {grade}")
UNKNOWN_VALUE_TYPE = Message("未知的值类型：{value_type}", "unknown value type: {value_type}")
UNKNOWN_IDENTIFIER = Message("未知的标识符类型：{identifier}", "unknown identifier type: {identifier}")


@dataclass(frozen=True)
class MaskKind:
    """One way of masking a column (脱敏方式), declared as data.

    ``template`` is DuckDB SQL with placeholders: ``{col}`` the column expression, ``{text}`` the
    column cast to VARCHAR, ``{hmac}`` the hex HMAC-SHA256 of ``{text}`` under the kind's sub-key
    (keyed kinds only), and one placeholder per parameter. ``params`` holds the defaults; an ``int``
    parameter has ``limits`` (inclusive), a string parameter ``choices`` (its whitelist).
    ``reversible`` marks outputs that whoever holds the key, or a list of candidate values, can link
    back to the subject (pseudonymous, not anonymous data: never releasable, R4.4a).
    """

    name: str
    title_zh: str
    title_en: str
    template: str
    params: Mapping[str, object]
    applies_to: frozenset[str]
    reversible: bool = False
    limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    keyed: bool = False


_STRINGS = frozenset({"string"})
_TEXTUAL = frozenset({"string", "integer"})
_NUMBERS = frozenset({"integer", "number"})

# Keep the first and last characters, star the middle; a value no longer than what would be shown is
# starred entirely, so a short value is never shown whole.
_KEEP_ENDS = (
    "CASE WHEN length({text}) <= {first} + {last} THEN repeat('*', length({text})) "
    "ELSE left({text}, {first}) || repeat('*', length({text}) - {first} - {last}) "
    "|| right({text}, {last}) END"
)
_COMPOUND = ", ".join(f"'{s}'" for s in COMPOUND_SURNAMES)
_PERSON_NAME = (
    "CASE WHEN length({text}) <= 1 THEN repeat('*', length({text})) "
    f"WHEN length({{text}}) >= 3 AND left({{text}}, 2) IN ({_COMPOUND}) "
    "THEN left({text}, 2) || repeat('*', length({text}) - 2) "
    "ELSE left({text}, 1) || repeat('*', length({text}) - 1) END"
)
# Keep the administrative prefix up to the first county / district / town / street-office marker (or,
# failing that, the first province / city marker). The kept prefix may hold no digit and no street
# marker, so a house number or a road never survives.
_ADDRESS_LEVEL = "^[^0-9０-９路街巷弄号栋幢室]*?(县|区|镇|乡|街道)"
_ADDRESS_CITY = "^[^0-9０-９路街巷弄号栋幢室]*?(省|市)"
_ADDRESS = (
    "CASE WHEN {text} IS NULL THEN NULL WHEN {text} = '' THEN '' "
    f"WHEN regexp_matches({{text}}, '{_ADDRESS_LEVEL}') "
    f"THEN regexp_extract({{text}}, '{_ADDRESS_LEVEL}', 0) || '***' "
    f"WHEN regexp_matches({{text}}, '{_ADDRESS_CITY}') "
    f"THEN regexp_extract({{text}}, '{_ADDRESS_CITY}', 0) || '***' "
    "ELSE '***' END"
)
# 2^52: the first 13 hex digits of the HMAC as an exact double in [0, 1)
_UNIT = "(CAST(CAST('0x' || left({hmac}, 13) AS UBIGINT) AS DOUBLE) / CAST(4503599627370496 AS DOUBLE))"
_PERTURB = (
    "CAST({col} AS DOUBLE) * (CAST(1 AS DOUBLE) + (CAST({percent} AS DOUBLE) / CAST(100 AS DOUBLE)) * "
    f"({_UNIT} * CAST(2 AS DOUBLE) - CAST(1 AS DOUBLE)))"
)


def _kind(name: str, zh: str, en: str, template: str, applies_to: frozenset[str], **kw: object) -> MaskKind:
    for table in ("params", "limits", "choices"):  # read-only, so no caller can widen a kind's limits
        kw[table] = MappingProxyType(dict(kw.get(table, {})))  # type: ignore[call-overload]
    return MaskKind(name, zh, en, template, applies_to=applies_to, **kw)  # type: ignore[arg-type]


def _keep_ends(first: int, last: int, max_first: int, max_last: int) -> dict[str, object]:
    return {
        "params": {"first": first, "last": last},
        "limits": {"first": (0, max_first), "last": (0, max_last)},
    }


_CATALOGUE = (
    _kind(
        "redact", "遮蔽", "redact",
        "CASE WHEN {text} = '' THEN '' WHEN {text} IS NOT NULL THEN '***' END", _TEXTUAL,
    ),
    _kind(
        "show_first_n", "保留前 n 位", "show first n",
        _KEEP_ENDS.replace("{first}", "{n}").replace("{last}", "0"), _TEXTUAL,
        params={"n": 4}, limits={"n": (0, 64)},
    ),
    _kind(
        "show_last_n", "保留后 n 位", "show last n",
        _KEEP_ENDS.replace("{first}", "0").replace("{last}", "{n}"), _TEXTUAL,
        params={"n": 4}, limits={"n": (0, 64)},
    ),
    _kind(
        "show_first_last", "保留首尾", "show first and last", _KEEP_ENDS, _TEXTUAL, **_keep_ends(1, 1, 64, 64)
    ),
    _kind(
        "hash", "哈希（SHA-256）", "hash (SHA-256)", "CASE WHEN {text} = '' THEN '' ELSE sha256({text}) END",
        _TEXTUAL, reversible=True,
    ),
    _kind(
        "pseudonym", "假名化（密钥 HMAC）", "pseudonym (keyed HMAC)",
        "CASE WHEN {text} = '' THEN '' ELSE {prefix} || left({hmac}, {length}) END", _TEXTUAL,
        params={"prefix": "P_", "length": 16}, limits={"length": (8, 64)},
        choices={"prefix": frozenset({"", "P_", "E_", "X_"})}, reversible=True, keyed=True,
    ),
    _kind("null", "置空", "null", "CASE WHEN false THEN {col} END", frozenset(VALUE_TYPES)),
    _kind(
        "generalize_date", "日期泛化", "generalize date", "CAST(date_trunc({to}, {col}) AS DATE)",
        frozenset({"date"}), params={"to": "year"}, choices={"to": frozenset({"year", "quarter", "month"})},
    ),
    _kind(
        "band_number", "数值分段（取段下限）", "band number (lower bound)",
        "({col} - ((({col} % {width}) + {width}) % {width}))", _NUMBERS,
        params={"width": 1000}, limits={"width": (1, 10**15)},
    ),
    _kind(
        "perturb_number", "数值扰动（确定性）", "perturb number (deterministic)", _PERTURB, _NUMBERS,
        params={"percent": 10}, limits={"percent": (1, 50)}, keyed=True,
    ),
    _kind("resident_id", "身份证号脱敏", "resident ID", _KEEP_ENDS, _STRINGS, **_keep_ends(6, 4, 6, 4)),
    _kind(
        "credit_code", "统一社会信用代码脱敏", "credit code", _KEEP_ENDS, _STRINGS, **_keep_ends(8, 0, 8, 1)
    ),
    _kind("mobile", "手机号脱敏", "mobile number", _KEEP_ENDS, _TEXTUAL, **_keep_ends(3, 4, 3, 4)),
    _kind("bank_card", "银行卡号脱敏", "bank card", _KEEP_ENDS, _TEXTUAL, **_keep_ends(6, 4, 6, 4)),
    _kind("person_name", "姓名脱敏", "person name", _PERSON_NAME, _STRINGS),
    _kind("address", "地址脱敏", "address", _ADDRESS, _STRINGS),
)

#: Every mask kind, by its stable name.
MASK_KINDS: Mapping[str, MaskKind] = MappingProxyType({k.name: k for k in _CATALOGUE})


# ---------------------------------------------------------------------------------------------
# Keys


def new_mask_key() -> str:
    """A fresh per-grant masking key: 32 random bytes as 64 hex digits."""
    return secrets.token_hex(32)


def _key_bytes(key_hex: object) -> bytes:
    if not isinstance(key_hex, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", key_hex):
        raise InvalidInput("mask.invalid_key", INVALID_KEY)
    return bytes.fromhex(key_hex)


def _subkey(key_hex: object, kind: str) -> bytes:
    return hmac.new(_key_bytes(key_hex), f"opdomain/mask/{kind}".encode(), hashlib.sha256).digest()


def _hmac_sql(subkey: bytes) -> str:
    block = subkey.ljust(64, b"\0")  # SHA-256 block size; a 32-byte key is zero-padded (RFC 2104)
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    return f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode({{text}}))))"


def _hmac_hex(subkey: bytes, text: str) -> str:
    return hmac.new(subkey, text.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# SQL


def quote_ident(name: str) -> str:
    """A column name as a DuckDB quoted identifier (``"a""b"``), for ``col_sql``."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise InvalidInput("mask.invalid_column", Message("列名无效", "invalid column name"))
    return '"' + name.replace('"', '""') + '"'


def _checked_params(kind: MaskKind, given: Mapping[str, object]) -> dict[str, str]:
    """Defaults overlaid with ``given``, each checked and rendered as SQL."""
    rendered: dict[str, str] = {}
    for name in given:
        if name not in kind.params:
            raise InvalidInput("mask.unknown_param", UNKNOWN_PARAM.format(kind=kind.name, param=name))
    for name, default in kind.params.items():
        value = given.get(name, default)
        if name in kind.limits:
            low, high = kind.limits[name]
            # type() rather than isinstance(): bool and int subclasses (which could override __str__)
            # are refused; only a plain int is written into SQL
            if type(value) is not int or not low <= value <= high:
                raise InvalidInput(
                    "mask.invalid_param", INVALID_INT_PARAM.format(param=name, low=low, high=high)
                )
            rendered[name] = str(value)
        else:
            allowed = kind.choices[name]
            if type(value) is not str or value not in allowed:
                choices = ", ".join(sorted(repr(c) for c in allowed))
                message = INVALID_CHOICE_PARAM.format(param=name, choices=choices)
                raise InvalidInput("mask.invalid_param", message)
            rendered[name] = f"'{value}'"  # whitelisted values hold no quote
    return rendered


_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def mask_sql(
    kind: str, col_sql: str, *, key_hex: str | None = None, value_type: str | None = None, **params: object
) -> str:
    """The DuckDB expression that masks ``col_sql`` with mask kind ``kind``.

    ``key_hex`` is the grant's masking key (64 hex digits), required by keyed kinds and ignored by the
    others; ``value_type``, when given, must be one the kind applies to. Parameters not given take the
    kind's defaults. Raises :class:`InvalidInput` for an unknown kind or parameter, a parameter out of
    its limits or whitelist, or a missing or malformed key. NULL stays NULL; masking text kinds keep
    the empty string empty.
    """
    mask = MASK_KINDS.get(kind) if isinstance(kind, str) else None
    if mask is None:
        raise InvalidInput("mask.unknown_kind", UNKNOWN_KIND.format(kind=kind))
    if value_type is not None and value_type not in mask.applies_to:
        raise InvalidInput("mask.not_applicable", NOT_APPLICABLE.format(kind=kind, value_type=value_type))
    values = _checked_params(mask, params)
    template = mask.template
    if mask.keyed:
        if key_hex is None:
            raise InvalidInput("mask.key_required", KEY_REQUIRED.format(kind=kind))
        template = template.replace("{hmac}", _hmac_sql(_subkey(key_hex, mask.name)))
    values["col"] = col_sql
    values["text"] = f"CAST(({col_sql}) AS VARCHAR)"
    # one pass: text inserted for a placeholder is never scanned again, so a column name that
    # happens to contain "{n}" stays as it is
    return "(" + _PLACEHOLDER.sub(lambda m: values[m.group(1)], template) + ")"


# ---------------------------------------------------------------------------------------------
# Python twins of the keyed kinds (same results as the SQL; used by tests, previews and joins)


def pseudonym_sql(col_sql: str, key_hex: str, prefix: str = "P_", length: int = 16) -> str:
    """SQL of the ``pseudonym`` kind: ``prefix`` + the first ``length`` hex digits of the HMAC."""
    return mask_sql("pseudonym", col_sql, key_hex=key_hex, prefix=prefix, length=length)


def pseudonym(value: str | int | None, key_hex: str, prefix: str = "P_", length: int = 16) -> str | None:
    """The pseudonym :func:`pseudonym_sql` gives ``value``: same value and key, same pseudonym;
    another key (another grant), another pseudonym. NULL stays None, ``''`` stays ``''``."""
    _checked_params(MASK_KINDS["pseudonym"], {"prefix": prefix, "length": length})
    subkey = _subkey(key_hex, "pseudonym")
    if value is None:
        return None
    text = str(value)
    if text == "":
        return ""
    return prefix + _hmac_hex(subkey, text)[:length]


def perturb(value: int | float | None, key_hex: str, percent: int = 10) -> float | None:
    """The value :func:`mask_sql` ``("perturb_number", …)`` gives ``value``: multiplied by a factor in
    [1 - percent %, 1 + percent %) drawn from the HMAC of the value's text. Deterministic, so asking
    again never averages the noise away. Equal to the SQL for integers, and for floats whose Python
    ``str`` is DuckDB's VARCHAR form (true of the shortest round-trip forms Python prints)."""
    _checked_params(MASK_KINDS["perturb_number"], {"percent": percent})
    subkey = _subkey(key_hex, "perturb_number")
    if value is None:
        return None
    unit = float(int(_hmac_hex(subkey, str(value))[:13], 16)) / float(4503599627370496)
    return float(value) * (1.0 + (float(percent) / 100.0) * (unit * 2.0 - 1.0))


# ---------------------------------------------------------------------------------------------
# Default masking of the development copy (R4.4d): by identifier first, then by grade and value type

#: An identifier column is masked whatever its grade: a mis-graded column must not leak a subject key.
IDENTIFIER_MASKS: Mapping[IdentifierType, tuple[str, Mapping[str, object]]] = MappingProxyType(
    {
        IdentifierType.RESIDENT_ID: ("pseudonym", {"prefix": "P_"}),
        IdentifierType.CREDIT_CODE: ("pseudonym", {"prefix": "E_"}),
        IdentifierType.PERSON_NAME: ("person_name", {}),
        IdentifierType.MOBILE: ("mobile", {}),
        IdentifierType.BANK_CARD: ("bank_card", {}),
        IdentifierType.ADDRESS: ("address", {}),
    }
)

#: Masks of other columns by (grade, value type); L1 and L2 columns, and those not listed, stay clear.
GRADE_MASKS: Mapping[tuple[str, str], tuple[str, Mapping[str, object]]] = MappingProxyType(
    {
        ("L3", "integer"): ("perturb_number", {"percent": 10}),
        ("L3", "number"): ("perturb_number", {"percent": 10}),
        ("L3", "date"): ("generalize_date", {"to": "month"}),
        ("L3", "string"): ("pseudonym", {"prefix": "X_"}),
        ("L4", "integer"): ("perturb_number", {"percent": 20}),
        ("L4", "number"): ("perturb_number", {"percent": 20}),
        ("L4", "date"): ("generalize_date", {"to": "year"}),
        ("L4", "string"): ("redact", {}),
        ("L4", "boolean"): ("null", {}),
    }
)


def default_mask_for(
    grade: str, identifier: str | None, value_type: str
) -> tuple[str, dict[str, object]] | None:
    """The mask (kind, params) a column gets in the development copy, or None to keep it clear.

    Identifier columns get their identifier's mask (subject keys a pseudonym, so joins still work
    within one grant); other columns are masked by grade: L3 numbers ±10 % noise, L4 numbers ±20 %,
    L3 dates to the month, L4 dates to the year, L3 text pseudonymised, L4 text redacted, L4 booleans
    nulled. The table is written out in docs/masking.md.
    """
    if grade not in GRADES:
        raise InvalidInput("mask.unknown_grade", UNKNOWN_GRADE.format(grade=grade))
    if value_type not in VALUE_TYPES:
        raise InvalidInput("mask.unknown_value_type", UNKNOWN_VALUE_TYPE.format(value_type=value_type))
    if identifier is not None:
        try:
            kind, params = IDENTIFIER_MASKS[IdentifierType(identifier)]
        except ValueError:
            raise InvalidInput(
                "mask.unknown_identifier", UNKNOWN_IDENTIFIER.format(identifier=identifier)
            ) from None
        return kind, dict(params)
    chosen = GRADE_MASKS.get((grade, value_type))
    return (chosen[0], dict(chosen[1])) if chosen else None
