"""Recipient watermark (R4.5a, R5.1b, R6.10): survives what a leaker does to a copy, names the
right one of the 15 pilot banks, never a wrong one, and never changes what a bank relies on."""

from __future__ import annotations

import io
import math
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyarrow import csv

from opdomain.privacy.identifiers import is_valid_credit_code
from opdomain.privacy.watermark import DEFAULT_ALPHA, DEFAULT_DECOYS, attribute, detect, embed
from opdomain.scenarios.identifiers import credit_codes, to_string_array

SECRET = bytes(range(32))
BANKS = [f"bank-{i:02d}" for i in range(15)]
RELEASE = "rel-2023-001"
CANDIDATES = [(RELEASE, bank) for bank in BANKS]
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def rating_list(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "uscc": to_string_array(credit_codes(rng.choice(31**6, n, replace=False))),
            "category": pa.array(rng.choice(["规上", "规下"], n)),
            "grade": pa.array(rng.choice(list("ABCDE"), n)),
        }
    )


@st.composite
def statistics_tables(draw) -> pa.Table:
    """Per-indicator means per grade and category: labels, a count, two or three 2-decimal means."""
    rows = draw(st.integers(40, 90))
    floats = draw(st.integers(2, 3))
    columns: dict[str, pa.Array] = {
        "category": pa.array([["规上", "规下"][i % 2] for i in range(rows)]),
        "indicator": pa.array([f"指标{i // 2:02d}" for i in range(rows)]),
        "n": pa.array(draw(st.lists(st.integers(10, 900), min_size=rows, max_size=rows)), pa.int64()),
    }
    for j in range(floats):
        hundredths = draw(st.lists(st.integers(0, 10**8), min_size=rows, max_size=rows, unique=True))
        columns[f"mean_{j}"] = pa.array([h / 100 for h in hundredths], pa.float64())
    return pa.table(columns)


def csv_round_trip(table: pa.Table) -> pa.Table:
    buffer = io.BytesIO()
    csv.write_csv(table, buffer)
    return csv.read_csv(io.BytesIO(buffer.getvalue()))


def leak(table: pa.Table, seed: int, keep_columns: list[str], as_csv: bool, drop: float = 0.3) -> pa.Table:
    """What a leaker does: shuffle, drop ``drop`` of the rows, keep some columns, maybe re-save as CSV."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(table.num_rows)[: math.ceil(table.num_rows * (1 - drop))]
    copy = table.take(pa.array(order)).select(keep_columns)
    return csv_round_trip(copy) if as_csv else copy


def assert_attributed_only_to(table: pa.Table, bank: str) -> None:
    detections = detect(table, secret=SECRET, candidates=CANDIDATES)
    found = attribute(detections)
    assert found is not None and found.recipient_id == bank, detections[:2]
    for other in detections:
        if other.recipient_id != bank:
            assert other.false_positive_probability * len(CANDIDATES) > DEFAULT_ALPHA


# --- statistics tables: the parity channel --------------------------------------------------------


@PROPERTY
@given(statistics_tables(), st.integers(0, 14), st.integers(0, 2**32 - 1), st.data(), st.booleans())
def test_statistics_survive_shuffle_row_loss_column_subsets_and_csv(table, bank_index, seed, data, as_csv):
    bank = BANKS[bank_index]
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id=bank, key_columns=None)
    floats = [c for c in table.column_names if c.startswith("mean_")]
    kept_floats = data.draw(st.lists(st.sampled_from(floats), min_size=1, max_size=len(floats), unique=True))
    kept_others = data.draw(st.lists(st.sampled_from(["category", "indicator", "n"]), unique=True))
    assert_attributed_only_to(leak(marked, seed, kept_others + kept_floats, as_csv), bank)


@PROPERTY
@given(statistics_tables(), st.integers(0, 14))
def test_statistics_change_at_most_one_unit_of_the_last_displayed_digit(table, bank_index):
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id=BANKS[bank_index], key_columns=None)
    assert marked.num_rows == table.num_rows
    for name in table.column_names:
        before, after = table.column(name).to_pylist(), marked.column(name).to_pylist()
        if name.startswith("mean_"):
            assert all(abs(a - b) <= 0.01 + 1e-9 for a, b in zip(before, after, strict=True))
            assert all(round(a, 2) == a for a in after)  # still two decimals
        else:
            assert before == after  # labels and counts untouched


def test_a_decimal_statistic_stays_decimal_within_one_unit():
    values = [Decimal("63.27"), Decimal("58.10"), Decimal("71.05")] * 10
    table = pa.table({"grade": list("ABC") * 10, "mean": pa.array(values, pa.decimal128(10, 2))})
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id="bank-01", key_columns=None)
    assert marked.schema.field("mean").type == pa.decimal128(10, 2)
    assert all(abs(a - b) <= Decimal("0.01") for a, b in zip(values, marked.column("mean").to_pylist(), strict=True))


def test_counts_only_carry_no_in_band_mark_and_are_never_changed():
    table = pa.table(
        {"category": ["规上"] * 5 + ["规下"] * 5, "grade": list("ABCDE") * 2, "n": [39, 77, 77, 116, 78] * 2}
    )
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id="bank-01", key_columns=None)
    assert marked.select(table.column_names).equals(table)
    assert attribute(detect(csv_round_trip(marked), secret=SECRET, candidates=CANDIDATES)) is None
    # in Parquet the metadata tag is the only (secondary) signal
    by_metadata = attribute(detect(marked, secret=SECRET, candidates=CANDIDATES))
    assert by_metadata is not None and by_metadata.recipient_id == "bank-01" and by_metadata.metadata_match


# --- the rating list: the decoy channel -----------------------------------------------------------


def test_the_rating_list_keeps_every_real_row_exactly():
    table = rating_list(600, seed=1)
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id="bank-07", key_columns=("uscc",))
    real = {tuple(r.values()) for r in table.to_pylist()}
    copy = [tuple(r.values()) for r in marked.to_pylist()]
    assert real <= set(copy)
    decoys = [row for row in copy if row not in real]
    assert len(decoys) == DEFAULT_DECOYS == marked.num_rows - table.num_rows
    real_keys = set(table.column("uscc").to_pylist())
    for uscc, category, grade in decoys:
        assert uscc not in real_keys and is_valid_credit_code(uscc)
        assert uscc[:10] == "91330324YJ"  # the column's constant prefix: a decoy does not stand out
        assert category in ("规上", "规下") and grade in "ABCDE"


@pytest.mark.parametrize(
    "order", [["uscc"], ["grade", "uscc"], ["category", "grade", "uscc"], ["grade"]], ids=lambda o: "+".join(o)
)
def test_a_sorted_rating_list_stays_sorted(order):
    table = rating_list(300, seed=2).sort_by([(c, "ascending") for c in order])
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id="bank-02", key_columns=("uscc",))
    assert marked.num_rows == table.num_rows + DEFAULT_DECOYS
    rows = [tuple(r[c] for c in order) for r in marked.to_pylist()]
    assert rows == sorted(rows)


@PROPERTY
@given(st.integers(0, 14), st.integers(0, 2**32 - 1), st.integers(0, 1000), st.booleans(), st.booleans())
def test_the_rating_list_survives_shuffle_row_loss_column_subsets_and_csv(bank_index, seed, table_seed, grade, csv_):
    bank = BANKS[bank_index]
    table = rating_list(400, seed=table_seed)
    marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id=bank, key_columns=("uscc",))
    keep = ["uscc", "grade"] if grade else ["uscc"]
    assert_attributed_only_to(leak(marked, seed, keep, csv_), bank)


def test_the_15_banks_get_different_decoys_and_each_copy_names_its_bank():
    table = rating_list(500, seed=3)
    seen: set[str] = set()
    real = set(table.column("uscc").to_pylist())
    for i, bank in enumerate(BANKS):
        marked = embed(table, secret=SECRET, release_id=RELEASE, recipient_id=bank, key_columns=("uscc",))
        decoys = set(marked.column("uscc").to_pylist()) - real
        assert not decoys & seen
        seen |= decoys
        assert_attributed_only_to(leak(marked, seed=i, keep_columns=["grade", "uscc"], as_csv=True), bank)


def test_without_the_key_column_a_rating_list_is_not_attributed_at_all():
    marked = embed(
        rating_list(400, 4), secret=SECRET, release_id=RELEASE, recipient_id="bank-05", key_columns=("uscc",)
    )
    assert (
        attribute(detect(csv_round_trip(marked.select(["category", "grade"])), secret=SECRET, candidates=CANDIDATES))
        is None
    )


def test_an_unmarked_table_or_another_release_is_attributed_to_nobody():
    table = rating_list(400, 5)
    assert attribute(detect(table, secret=SECRET, candidates=CANDIDATES)) is None
    other = embed(table, secret=SECRET, release_id="rel-other", recipient_id="bank-05", key_columns=("uscc",))
    assert attribute(detect(csv_round_trip(other), secret=SECRET, candidates=CANDIDATES)) is None
    wrong_secret = detect(csv_round_trip(other), secret=b"x" * 32, candidates=[("rel-other", "bank-05")])
    assert attribute(wrong_secret) is None


def test_the_parquet_metadata_tag_is_a_secondary_signal(tmp_path):
    marked = embed(
        rating_list(100, 6), secret=SECRET, release_id=RELEASE, recipient_id="bank-09", key_columns=("uscc",)
    )
    pq.write_table(marked, tmp_path / "r.parquet")
    (best, *_) = detect(pq.read_table(tmp_path / "r.parquet"), secret=SECRET, candidates=CANDIDATES)
    assert best.recipient_id == "bank-09" and best.metadata_match
    assert not any(d.metadata_match for d in detect(csv_round_trip(marked), secret=SECRET, candidates=CANDIDATES))


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError):
        embed(rating_list(10, 7), secret=b"short", release_id=RELEASE, recipient_id="bank-01", key_columns=None)
