"""Vectorised construction of valid, fictional identifiers for the synthetic source data.

Every identifier is built as a matrix of ASCII bytes (one row per identifier) so that millions can be
made without a Python loop, and handed to pyarrow as a fixed-width string array:

- unified social credit codes (统一社会信用代码, GB 32100-2015) with an embedded organisation code
  (组织机构代码, GB 11714-1997) whose own check character is valid too;
- resident identity numbers (公民身份号码, GB 11643-1999);
- mobile numbers (手机号码).

Fictional markers (documented in docs/scenario-data.md): organisation codes start with ``YJ``, and
digits 4-6 of mobile numbers are ``000``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
ORG_CODE_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)

ORG_CODE_MARKER = "YJ"
# Registration authority 9 (市场监督管理部门), entity type 1 (企业), admin division 330324 (永嘉县).
USCC_HEAD = "91330324"

_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)


def ascii_matrix(text: str, rows: int) -> np.ndarray:
    """The same ASCII text repeated on ``rows`` rows, as a uint8 matrix."""
    row = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.broadcast_to(row, (rows, row.size)).copy()


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded decimal digits (values 0-9), one row per integer."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10).astype(np.uint8)


def to_string_array(chars: np.ndarray) -> pa.Array:
    """A uint8 matrix of ASCII codes (rows of equal width) as a pyarrow string array."""
    rows, width = chars.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _char_value(chars: np.ndarray) -> np.ndarray:
    """GB 11714 value of an ASCII digit or capital letter: 0-9, then A=10 ... Z=35."""
    chars = chars.astype(np.int64)
    return np.where(chars <= ord("9"), chars - ord("0"), chars - ord("A") + 10)


def org_code_check(body: np.ndarray) -> np.ndarray:
    """GB 11714 check character (ASCII) for 8-character organisation-code bodies (uint8 matrix)."""
    total = (_char_value(body) * ORG_CODE_WEIGHTS).sum(axis=1)
    check = 11 - total % 11
    return np.where(check == 11, ord("0"), np.where(check == 10, ord("X"), ord("0") + check)).astype(np.uint8)


def uscc_check(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check character (ASCII) for the first 17 characters (uint8 matrix)."""
    lookup = np.full(128, -1, dtype=np.int64)
    lookup[_USCC_CHARS] = np.arange(len(USCC_ALPHABET))
    total = (lookup[first17] * USCC_WEIGHTS).sum(axis=1)
    return _USCC_CHARS[(31 - total % 31) % 31]


def credit_codes(serials: np.ndarray) -> np.ndarray:
    """Unified social credit codes for distinct serial numbers in ``[0, 31**6)``.

    The organisation code is ``YJ`` + six characters of the USCC alphabet spelling the serial + its
    GB 11714 check character (a check of 'X' is in the USCC alphabet; '0'..'9' too). Distinct serials
    give distinct codes.
    """
    serials = np.asarray(serials, dtype=np.int64)
    rows = serials.size
    places = 31 ** np.arange(5, -1, -1, dtype=np.int64)
    serial_chars = _USCC_CHARS[(serials[:, None] // places) % 31]
    body = np.concatenate([ascii_matrix(ORG_CODE_MARKER, rows), serial_chars], axis=1)
    org_code = np.concatenate([body, org_code_check(body)[:, None]], axis=1)
    first17 = np.concatenate([ascii_matrix(USCC_HEAD, rows), org_code], axis=1)
    return np.concatenate([first17, uscc_check(first17)[:, None]], axis=1)


def resident_ids(region: np.ndarray, birth: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """GB 11643 resident identity numbers as a uint8 ASCII matrix.

    ``region`` is the 6-digit address code as an integer, ``birth`` dates as ``datetime64[D]``,
    ``sequence`` the 3-digit order code (odd for men, even for women).
    """
    birth = np.asarray(birth, dtype="datetime64[D]")
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    yyyymmdd = years * 10_000 + months * 100 + days
    digits = np.concatenate(
        [digits_matrix(region, 6), digits_matrix(yyyymmdd, 8), digits_matrix(sequence, 3)], axis=1
    )
    check = (12 - (digits.astype(np.int64) * RIC_WEIGHTS).sum(axis=1) % 11) % 11
    check_chars = np.where(check == 10, ord("X"), ord("0") + check).astype(np.uint8)
    return np.concatenate([digits + ord("0"), check_chars[:, None]], axis=1).astype(np.uint8)


def mobile_numbers(prefixes: tuple[str, ...], marker: str, serials: np.ndarray) -> np.ndarray:
    """Mobile numbers <prefix><marker><5 digits> for distinct serials in ``[0, len(prefixes) * 10**5)``."""
    serials = np.asarray(serials, dtype=np.int64)
    prefix_chars = np.frombuffer("".join(prefixes).encode("ascii"), dtype=np.uint8).reshape(-1, 3)
    tail_width = 11 - 3 - len(marker)
    head = prefix_chars[serials // 10**tail_width]
    tail = digits_matrix(serials % 10**tail_width, tail_width) + ord("0")
    return np.concatenate([head, ascii_matrix(marker, serials.size), tail], axis=1).astype(np.uint8)
