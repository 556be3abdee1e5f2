"""Recipient watermark for released tables (数字水印; rules 四.(五) R4.5a, 五.(一) R5.1b, 六.(十) R6.10).

Every copy of a released table names its recipient, so that a leaked copy can be traced: the
airlock embeds a mark per recipient at delivery, and ``detect`` tries the known (release,
recipient) pairs on a suspect table. The scheme, ``opdomain-wm/1`` (details and limits in
``docs/watermark.md``), has three channels, all keyed by the domain's watermark secret:

1. **Numeric parity** (statistics). In every float or decimal column with ``d`` ≥ 1 displayed
   decimals, each value ``v`` is written as ``q = round(v · 10^d)`` and replaced by
   ``q' = 2·⌊q/2⌋ + b``, where the bit ``b = HMAC(key(release, recipient), d ‖ ⌊q/2⌋) mod 2``. The
   value moves by at most one unit of its last displayed digit, and the bit is keyed by the value
   itself (``⌊q/2⌋`` does not change when the bit is set), not by its row or column: the mark
   survives re-sorting, dropping rows, dropping or renaming columns and CSV round-trips, as long as
   one float column with enough distinct values remains. Integer columns (counts) are never touched.
2. **Decoy rows** (per-subject lists such as the rating list, whose ``uscc``, ``category`` and
   ``grade`` must stay exactly right). A few fictitious rows (诱饵记录, like a map's trap streets)
   are inserted: their key is a valid-looking code — for credit codes with both GB 32100 check
   characters and the column's region prefix — whose keyed positions spell
   ``HMAC(key(release, recipient), j)``; their other cells copy a real row. Every real row stays
   exactly as it was. One or two surviving decoys (depending on how many code positions vary in
   the column) name the recipient, wherever their column is and whatever it is called.
3. **Parquet metadata**: a keyed tag under ``opdomain.watermark``. Trivially stripped and lost in
   CSV; a secondary signal only.

Not collusion-resistant: recipients who compare copies see where they differ (last digits, decoy
rows) and can remove the marks. Not robust to rounding a statistic to fewer decimals, adding noise,
or changing its unit; nor, for decoys, to checking every code against the public credit registry.
Tables of counts only carry no in-band mark (counts are never changed): the manifest and audit log
still name who received each copy.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opdomain.privacy.identifiers import (
    CREDIT_CODE_ALPHABET,
    credit_code_check_digit,
    is_valid_credit_code,
    org_code_check_digit,
)

SCHEME = "opdomain-wm/1"
METADATA_KEY = b"opdomain.watermark"
DEFAULT_DECOYS = 8
MAX_DECIMALS = 6
MIN_KEYED_POSITIONS = 5  # a decoy needs this many keyed characters to be recognisable
DEFAULT_ALPHA = 1e-6
_EXACT_BINOMIAL = 5_000
_CREDIT_BODY = range(8, 16)  # the organisation-code body inside a credit code
_TOKEN_CLASSES: tuple[str, ...] = (
    "0123456789",
    "0123456789abcdef",
    "0123456789ABCDEF",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789abcdefghijklmnopqrstuvwxyz",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)


@dataclass(frozen=True)
class Detection:
    """How strongly a table carries the mark of one (release, recipient).

    ``matched_bits`` / ``total_bits`` count numeric carriers that agree and decoys found (a decoy
    expected but dropped counts as an unmatched bit); ``score`` is their ratio. The decision value
    is ``false_positive_probability``: the chance that a table *not* marked for this recipient
    shows at least this much agreement (binomial tail for the parity bits, times a Poisson bound
    for decoys). ``metadata_match`` says the Parquet tag names this recipient."""

    release_id: str
    recipient_id: str
    score: float
    matched_bits: int
    total_bits: int
    false_positive_probability: float
    decoys_found: int = 0
    decoys_expected: int = 0
    metadata_match: bool = False


def _key(secret: bytes, channel: str, release_id: str, recipient_id: str) -> bytes:
    """Sub-key per channel, release and recipient: one leaked sub-key reveals one copy's marks."""
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise ValueError("the watermark secret must be at least 16 bytes")
    message = "\x1f".join((SCHEME, channel, release_id, recipient_id)).encode("utf-8")
    return hmac.new(bytes(secret), message, hashlib.sha256).digest()


def _bits(key: bytes, decimals: int, pairs: Iterable[int]) -> dict[int, int]:
    return {m: hmac.new(key, f"{decimals}:{m}".encode(), hashlib.sha256).digest()[0] & 1 for m in pairs}


# --- numeric channel -------------------------------------------------------------------------------


def _is_carrier_type(t: pa.DataType) -> bool:
    return pa.types.is_float64(t) or pa.types.is_decimal(t)


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(column, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)


def displayed_decimals(values: np.ndarray) -> int | None:
    """The fewest decimals (0–6) that write every finite value exactly; None when 6 are not enough."""
    finite = values[np.isfinite(values)]
    for d in range(MAX_DECIMALS + 1):
        scaled = finite * 10.0**d
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-9 + 16 * np.spacing(np.abs(scaled))):
            return d
    return None


def _decimals(column: pa.ChunkedArray, declared: int | None) -> int | None:
    if pa.types.is_decimal(column.type):
        return column.type.scale
    if declared is not None:
        return declared
    values = _floats(column)
    if not np.isfinite(values).any():
        return None
    d = displayed_decimals(values)
    return MAX_DECIMALS if d is None else d


def _quantised(column: pa.ChunkedArray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``q = round(v · 10^d)`` as int64 and the mask of values that can carry a bit."""
    if pa.types.is_decimal(column.type):
        values = column.to_pylist()
        ok = np.array([v is not None and v.is_finite() for v in values], dtype=bool)
        q = np.array([int(v.scaleb(d)) if good else 0 for v, good in zip(values, ok, strict=True)], dtype=object)
        ok &= np.array([abs(int(x)) < 2**62 for x in q], dtype=bool)
        return np.where(ok, q, 0).astype(np.int64), ok
    scaled = _floats(column) * 10.0**d
    ok = np.isfinite(scaled) & (np.abs(scaled) < 2.0**52)
    return np.where(ok, np.rint(np.where(ok, scaled, 0.0)), 0).astype(np.int64), ok


def _mark_column(column: pa.ChunkedArray, d: int, key: bytes) -> pa.Array:
    q, ok = _quantised(column, d)
    m = np.floor_divide(q, 2)
    unique, inverse = np.unique(m[ok], return_inverse=True)
    bits = _bits(key, d, (int(x) for x in unique))
    new_q = q.copy()
    new_q[ok] = 2 * m[ok] + np.array([bits[int(x)] for x in unique], dtype=np.int64)[inverse]
    if pa.types.is_decimal(column.type):
        limit = 10**column.type.precision
        old = column.to_pylist()
        out = [
            Decimal(int(nq)).scaleb(-d) if good and abs(int(nq)) < limit else value
            for value, nq, good in zip(old, new_q, ok, strict=True)
        ]
        return pa.array(out, column.type)
    floats = _floats(column)
    marked = np.where(ok, new_q / 10.0**d, floats)
    return pa.array(marked, pa.float64(), mask=~column.is_valid().to_numpy(zero_copy_only=False))


# --- decoy channel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """The form of a key column's values: ``kind`` credit_code or token, common ``length``, the
    ``alphabet`` of the keyed positions and the ``keyed`` positions themselves."""

    kind: str
    length: int
    alphabet: str
    keyed: tuple[int, ...]


def _shape(values: Sequence[str]) -> _Shape | None:
    """The decoy shape of a column, or None when its values are not codes of one form."""
    values = [v for v in values if isinstance(v, str)]
    if len(values) < 2:
        return None
    sample = values[:2_000]
    constant = [len({v[p] for v in sample if len(v) > p}) == 1 for p in range(max(len(v) for v in sample))]
    if sum(map(is_valid_credit_code, sample)) >= 0.9 * len(sample):
        keyed = tuple(p for p in _CREDIT_BODY if not constant[p])
        shape = _Shape("credit_code", 18, CREDIT_CODE_ALPHABET, keyed)
    else:
        length = len(sample[0])
        if length < MIN_KEYED_POSITIONS or any(len(v) != length for v in sample):
            return None
        keyed = tuple(p for p in range(length) if not constant[p])
        chars = {v[p] for v in sample for p in keyed}
        alphabet = next((a for a in _TOKEN_CLASSES if chars <= set(a)), None)
        if alphabet is None:
            return None
        shape = _Shape("token", length, alphabet, keyed)
    return shape if len(shape.keyed) >= MIN_KEYED_POSITIONS else None


def _keyed_string(key: bytes, index: int, length: int, alphabet: str) -> str:
    stream = b"".join(
        hmac.new(key, f"decoy:{index}:{block}".encode(), hashlib.sha256).digest() for block in range(length // 16 + 1)
    )
    return "".join(alphabet[int.from_bytes(stream[2 * p : 2 * p + 2], "big") % len(alphabet)] for p in range(length))


def _decoy_value(donor: str, shape: _Shape, keyed: str) -> str:
    chars = list(donor.upper() if shape.kind == "credit_code" else donor)
    for p in shape.keyed:
        chars[p] = keyed[p]
    if shape.kind == "credit_code":
        chars[16] = org_code_check_digit("".join(chars[8:16]))
        chars[17] = credit_code_check_digit("".join(chars[:17]))
    return "".join(chars)


def _projection(value: str, shape: _Shape) -> str | None:
    if len(value) != shape.length:
        return None
    return (
        "".join(value[p] for p in shape.keyed).upper()
        if shape.kind == "credit_code"
        else "".join(value[p] for p in shape.keyed)
    )


def _text_columns(table: pa.Table) -> list[str]:
    return [
        n
        for n in table.column_names
        if pa.types.is_string(table.schema.field(n).type) or pa.types.is_large_string(table.schema.field(n).type)
    ]


def _key_columns(table: pa.Table, key_columns: Sequence[str] | None) -> list[str]:
    missing = [c for c in key_columns or () if c not in table.column_names]
    if missing:
        raise ValueError(f"key columns not in the table: {', '.join(missing)}")
    return list(key_columns or ())


def _add_decoys(
    table: pa.Table, key: bytes, keys: list[str], count: int, exclude: Collection[str]
) -> tuple[pa.Table, int]:
    text = _text_columns(table)
    found = {c: _shape(table.column(c).to_pylist()) for c in keys if c in text and table.column(c).null_count == 0}
    shapes = {c: s for c, s in found.items() if s is not None}
    if not shapes or count <= 0 or table.num_rows < 2:
        return table, 0
    anchor = next(iter(shapes))
    anchor_values = table.column(anchor).to_pylist()
    by_key = sorted(range(table.num_rows), key=lambda r: anchor_values[r])
    taken = {c: set(table.column(c).to_pylist()) | set(exclude) for c in shapes}
    donors: list[int] = []
    replacements: dict[str, list[str]] = {c: [] for c in shapes}
    index = 0
    while len(donors) < count and index < 2 * count:
        pick = int.from_bytes(hmac.new(key, f"donor:{index}".encode(), hashlib.sha256).digest()[:8], "big")
        donor = by_key[pick % len(by_key)]
        candidate = {}
        for c, s in shapes.items():
            value = table.column(c)[donor].as_py()
            candidate[c] = _decoy_value(value, s, _keyed_string(key, index, s.length, s.alphabet))
        index += 1
        if any(candidate[c] in taken[c] for c in shapes):
            continue  # never shadow a real subject's key
        donors.append(donor)
        for c in shapes:
            replacements[c].append(candidate[c])
            taken[c].add(candidate[c])
    decoys = table.take(pa.array(donors, pa.int64()))
    for c, values in replacements.items():
        position = decoys.column_names.index(c)
        decoys = decoys.set_column(position, decoys.schema.field(c), pa.array(values, decoys.schema.field(c).type))
    combined = pa.concat_tables([table, decoys])
    rows = combined.to_pylist()
    order = _sort_order(rows[: table.num_rows], combined.column_names)
    final = list(range(table.num_rows))
    for j in range(len(donors)):
        decoy = table.num_rows + j
        if order:  # a sorted list stays sorted: a decoy out of order would stand out
            tuples = [tuple(rows[r][c] for c in order) for r in final]
            at = bisect.bisect(tuples, tuple(rows[decoy][c] for c in order))
        else:
            at = int.from_bytes(hmac.new(key, f"place:{j}".encode(), hashlib.sha256).digest()[:8], "big")
            at %= len(final) + 1
        final.insert(at, decoy)
    return combined.take(pa.array(final, pa.int64())), len(donors)


def _sort_order(rows: list[dict], columns: list[str]) -> list[str]:
    """The columns a table is sorted by (ascending, lexicographically), found greedily: a column
    qualifies when it does not decrease within any run of rows equal on the columns chosen so far."""
    order: list[str] = []
    runs = [rows]
    while any(len(run) > 1 for run in runs):
        for c in columns:
            if c in order or any(r[c] is None for r in rows):
                continue
            if all(all(a[c] <= b[c] for a, b in zip(run, run[1:], strict=False)) for run in runs):
                if all(run[0][c] == run[-1][c] for run in runs):
                    continue  # constant within every run: says nothing about the order
                order.append(c)
                runs = [group for run in runs for group in _split(run, c)]
                break
        else:
            break
    return order


def _split(run: list[dict], column: str) -> list[list[dict]]:
    groups: list[list[dict]] = [[run[0]]]
    for row in run[1:]:
        if row[column] == groups[-1][-1][column]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


# --- embed and detect ------------------------------------------------------------------------------


def _tag(secret: bytes, release_id: str, recipient_id: str) -> str:
    return _key(secret, "metadata", release_id, recipient_id).hex()[:32]


def embed(
    table: pa.Table,
    *,
    secret: bytes,
    release_id: str,
    recipient_id: str,
    key_columns: Sequence[str] | None,
    decoys: int = DEFAULT_DECOYS,
    decimals: dict[str, int] | None = None,
    exclude: Collection[str] = (),
) -> pa.Table:
    """The copy of ``table`` for one recipient of one release.

    ``key_columns`` name the columns that identify a row: the subject key of a per-subject list
    (``("uscc",)`` for the rating list); None for aggregate statistics, which get no decoys. Decoys
    are added when a key column's values are credit codes or fixed-form tokens (``decoys`` rows, 0
    for none; their keys avoid the table's values and ``exclude`` — pass the registry you have).
    Float and decimal columns outside the keys carry the parity bits; ``decimals`` may declare a
    column's displayed decimals (inferred otherwise; values with more than 6 are rounded to 6).
    """
    keys = _key_columns(table, key_columns)
    marked, added = _add_decoys(table, _key(secret, "decoy", release_id, recipient_id), keys, decoys, exclude)
    numeric_key = _key(secret, "numeric", release_id, recipient_id)
    used: dict[str, int] = {}
    for position, name in enumerate(marked.column_names):
        column = marked.column(name)
        if name in keys or not _is_carrier_type(column.type):
            continue
        d = _decimals(column, (decimals or {}).get(name))
        if d is None or d < 1:
            continue  # whole numbers are counts: never changed
        marked = marked.set_column(position, marked.schema.field(name), _mark_column(column, d, numeric_key))
        used[name] = d
    record = {"scheme": SCHEME, "tag": _tag(secret, release_id, recipient_id), "decimals": used, "decoys": added}
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(record, sort_keys=True).encode()
    return marked.replace_schema_metadata(metadata)


def _metadata(table: pa.Table) -> dict:
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) and record.get("scheme") == SCHEME else {}


def _carriers(table: pa.Table, declared: dict) -> dict[int, set[tuple[int, int]]]:
    """Per number of decimals, the distinct (⌊q/2⌋, parity) pairs the table's floats show."""
    found: dict[int, set[tuple[int, int]]] = {}
    for name in table.column_names:
        column = table.column(name)
        if not _is_carrier_type(column.type) and not pa.types.is_floating(column.type):
            continue
        declared_d = declared.get(name)
        d = _decimals(column, declared_d if isinstance(declared_d, int) else None)
        if d is None or d < 1 or (not pa.types.is_decimal(column.type) and displayed_decimals(_floats(column)) is None):
            continue
        q, ok = _quantised(column, d)
        pairs = found.setdefault(d, set())
        pairs.update(zip(np.floor_divide(q[ok], 2).tolist(), (q[ok] & 1).tolist(), strict=True))
    return found


def _binomial_tail(matched: int, total: int) -> float:
    """P(X ≥ matched) for X ~ Binomial(total, 1/2); Hoeffding's bound beyond 5,000 trials."""
    if total == 0 or matched <= 0:
        return 1.0
    if total <= _EXACT_BINOMIAL:
        return sum(math.comb(total, i) for i in range(matched, total + 1)) / 2**total
    excess = matched / total - 0.5
    return 1.0 if excess <= 0 else math.exp(-2 * total * excess * excess)


def _poisson_bound(found: int, rate: float) -> float:
    """An upper bound of P(X ≥ found) for X ~ Poisson(rate): rate^found / found!."""
    if found <= 0:
        return 1.0
    return min(1.0, math.exp(found * math.log(max(rate, 1e-300)) - math.lgamma(found + 1)))


def detect(
    table: pa.Table,
    *,
    secret: bytes,
    candidates: Sequence[tuple[str, str]],
    decoys: int | None = None,
) -> list[Detection]:
    """How strongly ``table`` carries each candidate (release id, recipient id)'s mark, most
    likely first. The caller lists the releases and recipients it knows; see :func:`attribute`."""
    record = _metadata(table)
    declared: dict = record["decimals"] if isinstance(record.get("decimals"), dict) else {}
    expected = decoys if decoys is not None else int(record.get("decoys", DEFAULT_DECOYS) or DEFAULT_DECOYS)
    carriers = _carriers(table, declared)
    columns = []
    for name in _text_columns(table):
        values = [v for v in pc.unique(table.column(name)).to_pylist() if isinstance(v, str)]
        shape = _shape(values)
        if shape is not None:
            projections = {_projection(v, shape) for v in values} - {None}
            columns.append((shape, projections, len(values)))
    results = []
    for release_id, recipient_id in candidates:
        numeric_key = _key(secret, "numeric", release_id, recipient_id)
        matched = total = 0
        for d, pairs in carriers.items():
            bits = _bits(numeric_key, d, {m for m, _ in pairs})
            matched += sum(1 for m, parity in pairs if bits[m] == parity)
            total += len(pairs)
        p_numeric = _binomial_tail(matched, total)
        decoy_key = _key(secret, "decoy", release_id, recipient_id)
        found = 0
        rate = 0.0
        for shape, projections, distinct in columns:
            wanted = {
                "".join(_keyed_string(decoy_key, j, shape.length, shape.alphabet)[p] for p in shape.keyed)
                for j in range(2 * expected)
            }
            found += len(wanted & projections)
            rate += distinct * len(wanted) / float(len(shape.alphabet)) ** len(shape.keyed)
        found = min(found, expected) if columns else 0
        p_decoys = _poisson_bound(found, rate)
        decoy_bits = expected if columns else 0
        bits_total = total + decoy_bits
        bits_matched = matched + found
        results.append(
            Detection(
                release_id=release_id,
                recipient_id=recipient_id,
                score=bits_matched / bits_total if bits_total else 0.0,
                matched_bits=bits_matched,
                total_bits=bits_total,
                false_positive_probability=p_numeric * p_decoys,
                decoys_found=found,
                decoys_expected=decoy_bits,
                metadata_match=bool(record) and record.get("tag") == _tag(secret, release_id, recipient_id),
            )
        )
    return sorted(results, key=lambda r: (r.false_positive_probability, -r.score))


def attribute(
    detections: Sequence[Detection], *, alpha: float = DEFAULT_ALPHA, use_metadata: bool = True
) -> Detection | None:
    """The one candidate the table is attributed to, or None.

    In-band evidence first: the most likely candidate whose false-positive probability, times the
    number of candidates tried (Bonferroni), is at most ``alpha`` — and only if no other candidate
    also is. Without in-band evidence, a unique Parquet metadata tag (when ``use_metadata``)."""
    if not detections:
        return None
    n = len(detections)
    significant = [d for d in detections if d.false_positive_probability * n <= alpha]
    if len(significant) == 1:
        return significant[0]
    if significant:
        return None
    tagged = [d for d in detections if d.metadata_match]
    return tagged[0] if use_metadata and len(tagged) == 1 else None
