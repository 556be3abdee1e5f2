"""Chinese identifiers: validation, detection and engine-side validation SQL (rules 一.(一), R1.1b).

Personal information and enterprise keys must be recognised before they can be protected: the
catalogue marks identifier columns, ingestion validates them, masking hides them and the airlock looks
for them in outputs. This module knows six identifier types (:class:`IdentifierType`):

* resident ID (居民身份证号码, GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check character;
* unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters over a 31-character
  alphabet with a MOD 31 check character, embedding a 9-character organisation code (组织机构代码,
  GB 11714-1997) that has its own MOD 11 check character;
* mobile number (手机号码): 11 digits, mainland prefixes 13–19;
* bank card (银行卡号): 16–19 digits with a Luhn check digit;
* person name (姓名) and address (地址): recognised by heuristics only (see :func:`detect_identifiers`).

The ``*_valid_sql`` builders return pure DuckDB boolean expressions (no Python UDF) that agree with
the Python validators, so ingestion can check millions of rows at engine speed; the tests hold the two
implementations to each other. Every validator answers ``False`` (never NULL, never an error) for
NULL, non-text and malformed input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from stdnum import luhn
from stdnum.cn import ric, uscc

from opdomain.privacy.surnames import COMMON_SURNAMES, COMPOUND_SURNAMES, NOT_NAME_ENDINGS, NOT_NAMES


class IdentifierType(StrEnum):
    """A type of identifier a column may be (标识符类型); values are stable ids used in the catalogue."""

    RESIDENT_ID = "resident_id"
    CREDIT_CODE = "credit_code"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"
    PERSON_NAME = "person_name"
    ADDRESS = "address"


#: Province-level codes of GB/T 2260 that open a resident ID (71 Taiwan; 81/82/83 residence permits).
PROVINCE_CODES: frozenset[str] = frozenset(
    ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42")
    + ("43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82")
    + ("83",)
)
#: Oldest birth date a valid resident ID may carry; younger than any living holder.
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)

RESIDENT_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
CREDIT_CODE_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714: A=10 … Z=35
ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE_CHECK_CHARS = "0123456789X0"  # indexed by 11 - (weighted sum mod 11), i.e. 1..11

_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")
_CC = "0-9A-HJ-NP-RT-UW-Ya-hj-np-rt-uw-y"  # credit-code alphabet, either case
_CREDIT_CODE_SHAPE = re.compile(rf"[{_CC}]{{2}}[0-9]{{6}}[{_CC}]{{10}}")
_MOBILE_SHAPE = re.compile(r"1[3-9][0-9]{9}")
_BANK_CARD_SHAPE = re.compile(r"[0-9]{16,19}")


# ---------------------------------------------------------------------------------------------
# Check characters (also used by the synthetic-data generator)


def resident_id_check_digit(first17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits of a resident ID."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("a resident ID body is 17 digits")
    # stdnum's calc_check_digit ignores the last character it is given, hence the placeholder
    return ric.calc_check_digit(first17 + "0")


def org_code_check_digit(first8: str) -> str:
    """GB 11714 check character of the 8-character body of an organisation code."""
    body = first8.upper()
    if not re.fullmatch(r"[0-9A-Z]{8}", body):
        raise ValueError("an organisation code body is 8 digits or capital letters")
    total = sum(ORG_CODE_ALPHABET.index(c) * w for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    return ORG_CODE_CHECK_CHARS[11 - total % 11]


def credit_code_check_digit(first17: str) -> str:
    """GB 32100 check character (MOD 31) of the first 17 characters of a credit code."""
    body = first17.upper()
    if len(body) != 17 or any(c not in CREDIT_CODE_ALPHABET for c in body):
        raise ValueError("a credit code body is 17 characters of the GB 32100 alphabet")
    return uscc.calc_check_digit(body)


# ---------------------------------------------------------------------------------------------
# Validators


def is_valid_resident_id(value: object, *, today: dt.date | None = None) -> bool:
    """A GB 11643 resident ID: 18 characters, a known province, a real birth date between 1900-01-01
    and today (stdnum accepts future dates), and the right check character (a lower-case ``x`` is
    accepted). The county part is not looked up: codes are retired while their IDs stay valid."""
    if not isinstance(value, str) or not _RESIDENT_ID_SHAPE.fullmatch(value):
        return False
    if value[:2] not in PROVINCE_CODES:
        return False
    try:
        birth = ric.get_birth_date(value)
    except Exception:  # stdnum raises its own InvalidComponent for impossible dates
        return False
    if not EARLIEST_BIRTH_DATE <= birth <= (today or dt.date.today()):
        return False
    return resident_id_check_digit(value[:17]) == value[17].upper()


def is_valid_credit_code(value: object) -> bool:
    """A GB 32100 unified social credit code: 18 characters of the 31-character alphabet (either case),
    characters 3–8 a region code of digits, the MOD 31 check character, and — which stdnum does not
    check — the GB 11714 check character of the embedded organisation code (characters 9–17)."""
    if not isinstance(value, str) or not _CREDIT_CODE_SHAPE.fullmatch(value):
        return False
    code = value.upper()
    return credit_code_check_digit(code[:17]) == code[17] and org_code_check_digit(code[8:16]) == code[16]


def is_valid_mobile(value: object) -> bool:
    """A mainland mobile number: exactly 11 digits starting 13–19 (no country code, no separators)."""
    return isinstance(value, str) and _MOBILE_SHAPE.fullmatch(value) is not None


def is_valid_bank_card(value: object) -> bool:
    """A bank card number: 16–19 digits with a valid Luhn check digit (ISO/IEC 7812)."""
    return isinstance(value, str) and _BANK_CARD_SHAPE.fullmatch(value) is not None and luhn.is_valid(value)


VALIDATORS = {
    IdentifierType.RESIDENT_ID: is_valid_resident_id,
    IdentifierType.CREDIT_CODE: is_valid_credit_code,
    IdentifierType.MOBILE: is_valid_mobile,
    IdentifierType.BANK_CARD: is_valid_bank_card,
}


# ---------------------------------------------------------------------------------------------
# The same validators as DuckDB SQL expressions. ``col`` is trusted SQL built by the engine (a quoted
# column name or an expression). Digits are read with ascii(substr(..)) - 48 rather than CAST so that
# no row can raise a conversion error whatever order DuckDB evaluates the conjuncts in.


def _text(col: str) -> str:
    return f"CAST(({col}) AS VARCHAR)"


def _digit(t: str, pos: int | str) -> str:
    return f"(ascii(substr({t}, {pos}, 1)) - 48)"


def _sql_list(items: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(f"'{i}'" for i in sorted(items))


def resident_id_valid_sql(col: str) -> str:
    """DuckDB boolean expression equal to :func:`is_valid_resident_id` (today = ``current_date``)."""
    t = _text(col)
    total = " + ".join(f"{_digit(t, i + 1)} * {w}" for i, w in enumerate(RESIDENT_ID_WEIGHTS))
    birth = f"CAST(try_strptime(substr({t}, 7, 8), '%Y%m%d') AS DATE)"
    return (
        f"coalesce((regexp_full_match({t}, '[0-9]{{17}}[0-9Xx]')"
        f" AND substr({t}, 1, 2) IN ({_sql_list(PROVINCE_CODES)})"
        f" AND {birth} BETWEEN DATE '{EARLIEST_BIRTH_DATE.isoformat()}' AND current_date"
        f" AND substr('{RESIDENT_ID_CHECK_CHARS}', (({total}) % 11) + 1, 1) = upper(substr({t}, 18, 1))"
        "), false)"
    )


def credit_code_valid_sql(col: str) -> str:
    """DuckDB boolean expression equal to :func:`is_valid_credit_code` (both check characters)."""
    u = f"upper({_text(col)})"

    def value(alphabet: str, pos: int) -> str:
        return f"(instr('{alphabet}', substr({u}, {pos}, 1)) - 1)"

    weights = enumerate(CREDIT_CODE_WEIGHTS)
    total = " + ".join(f"{value(CREDIT_CODE_ALPHABET, i + 1)} * {w}" for i, w in weights)
    org = " + ".join(f"{value(ORG_CODE_ALPHABET, i + 9)} * {w}" for i, w in enumerate(ORG_CODE_WEIGHTS))
    return (
        f"coalesce((regexp_full_match({_text(col)}, '[{_CC}]{{2}}[0-9]{{6}}[{_CC}]{{10}}')"
        f" AND substr('{CREDIT_CODE_ALPHABET}', ((31 - (({total}) % 31)) % 31) + 1, 1) = substr({u}, 18, 1)"
        f" AND substr('{ORG_CODE_CHECK_CHARS}', 11 - (({org}) % 11) + 1, 1) = substr({u}, 17, 1)"
        "), false)"
    )


def luhn_valid_sql(col: str, *, max_length: int = 19) -> str:
    """DuckDB boolean expression: the Luhn sum of a digit string of at most ``max_length`` digits is 0
    mod 10. Unrolled (no lambdas, no lists) so it stays a flat vectorised expression."""
    t = _text(col)
    terms = []
    for i in range(max_length):  # i = position from the right, 0 = check digit
        d = _digit(t, f"length({t}) - {i}")
        term = f"(ascii(substr('0246813579', {d} + 1, 1)) - 48)" if i % 2 else d
        terms.append(f"CASE WHEN length({t}) > {i} THEN {term} ELSE 0 END")
    return (
        f"coalesce((regexp_full_match({t}, '[0-9]{{1,{max_length}}}')"
        f" AND ({' + '.join(terms)}) % 10 = 0), false)"
    )


def bank_card_valid_sql(col: str) -> str:
    """DuckDB boolean expression equal to :func:`is_valid_bank_card`."""
    t = _text(col)
    return f"coalesce((regexp_full_match({t}, '[0-9]{{16,19}}') AND {luhn_valid_sql(col)}), false)"


def mobile_valid_sql(col: str) -> str:
    """DuckDB boolean expression equal to :func:`is_valid_mobile`."""
    return f"coalesce(regexp_full_match({_text(col)}, '1[3-9][0-9]{{9}}'), false)"


VALID_SQL = {
    IdentifierType.RESIDENT_ID: resident_id_valid_sql,
    IdentifierType.CREDIT_CODE: credit_code_valid_sql,
    IdentifierType.MOBILE: mobile_valid_sql,
    IdentifierType.BANK_CARD: bank_card_valid_sql,
}


def valid_sql(identifier: IdentifierType | str, col: str) -> str | None:
    """The validation expression for a checkable identifier type; None for names and addresses."""
    builder = VALID_SQL.get(IdentifierType(identifier))
    return builder(col) if builder else None


# ---------------------------------------------------------------------------------------------
# Detection in free text and in cells (for the airlock, SPEC §6)
#
# Precision first: a number is reported as a resident ID or credit code only when its check
# character is right (1 random 18-character token in 11, resp. 31 x 11, passes by chance), and a bank
# card only with a Luhn-valid 16-19 digit run whose first digit is a card-scheme digit (3, 4, 5, 6, 9):
# about 1 random digit run in 10 passes Luhn, so an order number or serial can still be reported.
# Names and addresses are heuristics (see their helpers); the airlock should judge a column by the
# rate of hits, not by one hit.


@dataclass(frozen=True)
class Match:
    """One identifier found in a text: its type and its span ``text[start:end]``.

    ``value`` is the matched text itself; it is kept out of ``repr`` so that logging a match never
    writes the identifier into a log.
    """

    type: IdentifierType
    start: int
    end: int
    value: str = field(repr=False)


_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_TOKEN18 = re.compile(_NOT_ALNUM_BEFORE + r"[0-9A-Za-z]{18}" + _NOT_ALNUM_AFTER)
_CARD = re.compile(
    _NOT_ALNUM_BEFORE + r"(?:[0-9]{16,19}|[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)" + _NOT_ALNUM_AFTER
)
_CARD_SCHEME_DIGITS = frozenset("34569")
# optional +86 / 0086 / 86, then 3-4-4 digits with optional space or hyphen separators
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})" + _NOT_ALNUM_AFTER
)
_CJK = "\u4e00-\u9fff"
_ADMIN_MARKERS = "省|自治区|市|县|区|镇|乡|街道|大道|路|街|巷|弄|村"
_UNITS = "号|弄|栋|幢|室|楼|单元|组"
# CJK words, an administrative or street marker, then a house number followed by a unit (…路123号,
# 3幢201室). A number after 第 is an ordinal (公报2023年第9号), not a house number.
_ADDRESS = re.compile(
    rf"[{_CJK}]{{1,40}}?(?:{_ADMIN_MARKERS})[{_CJK}0-9０-９#\-－]{{0,30}}?"
    rf"(?<![第0-9０-９])[0-9０-９]{{1,5}}(?:[-－][0-9０-９]{{1,5}})*(?:{_UNITS})"
)
_NAME_SHAPE = re.compile(rf"[{_CJK}]{{2,4}}")


def _looks_like_person_name(cell: str) -> bool:
    """2-4 CJK characters starting with a common or compound surname, and not a known non-name.

    Misses: rare surnames, names with a middle dot (少数民族姓名), names in Latin script. False hits:
    short words that happen to start with a surname character (高新, 方案 are excluded; others remain).
    """
    if not _NAME_SHAPE.fullmatch(cell) or cell in NOT_NAMES or cell[-1] in NOT_NAME_ENDINGS:
        return False
    if len(cell) >= 3 and cell[:2] in COMPOUND_SURNAMES:
        return True
    return cell[0] in COMMON_SURNAMES


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def detect_identifiers(text: str) -> list[Match]:
    """All identifiers found in ``text``, ordered by position.

    Resident IDs and credit codes are found by their check characters, mobiles by shape (with an
    optional +86 / 0086 / 86 prefix and 3-4-4 separators), bank cards by Luhn (digits may be grouped
    by four), addresses by markers and a house number; a person name only when the whole (stripped)
    text is one, as in a name column. A span is reported once, the more specific type winning.
    """
    if not text:
        return []
    found: list[Match] = []
    taken: list[tuple[int, int]] = []

    def add(kind: IdentifierType, start: int, end: int) -> None:
        found.append(Match(kind, start, end, text[start:end]))
        taken.append((start, end))

    for m in _TOKEN18.finditer(text):
        token = m.group()
        if is_valid_resident_id(token):
            add(IdentifierType.RESIDENT_ID, *m.span())
        elif is_valid_credit_code(token):
            add(IdentifierType.CREDIT_CODE, *m.span())
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if digits[0] in _CARD_SCHEME_DIGITS and is_valid_bank_card(digits) and not _overlaps(m.span(), taken):
            add(IdentifierType.BANK_CARD, *m.span())
    for m in _MOBILE.finditer(text):
        if not _overlaps(m.span(), taken):
            add(IdentifierType.MOBILE, *m.span())
    for m in _ADDRESS.finditer(text):
        if not _overlaps(m.span(), taken):
            add(IdentifierType.ADDRESS, *m.span())
    stripped = text.strip()
    if not found and _looks_like_person_name(stripped):
        start = text.index(stripped)
        add(IdentifierType.PERSON_NAME, start, start + len(stripped))
    return sorted(found, key=lambda match: match.start)


_WORTH_SCANNING = re.compile(rf"[0-9{_CJK}]")


_SCAN_MEMO_LIMIT = 100_000


def _types_in(cell: str) -> frozenset[IdentifierType]:
    if not _WORTH_SCANNING.search(cell):
        return frozenset()
    return frozenset(m.type for m in detect_identifiers(cell))


def scan_values(values: Iterable[object]) -> dict[IdentifierType, int]:
    """How many cells of a column hold at least one identifier of each type.

    Values that are not text (a card number stored as an integer) are scanned as ``str(value)``;
    NULLs are skipped. Repeated values are scanned once (columns repeat a lot), which keeps the scan
    of a large output column fast. Every type is present in the answer, zero when not found.
    """
    counts = dict.fromkeys(IdentifierType, 0)
    # memo local to one scan (a process-wide cache would keep identifiers in memory after the scan)
    memo: dict[str, frozenset[IdentifierType]] = {}
    for value in values:
        if value is None:
            continue
        cell = value if isinstance(value, str) else str(value)
        found = memo.get(cell)
        if found is None:
            found = _types_in(cell)
            if len(memo) < _SCAN_MEMO_LIMIT:
                memo[cell] = found
        for kind in found:
            counts[kind] += 1
    return counts
