"""Names, addresses and contact numbers of the synthetic enterprises and people (名称、住所、联系电话).

Draws are made once for the whole population (index arrays, in a fixed order after the numeric model),
and the strings are built per chunk with pyarrow compute, so millions of names cost no Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opdomain.scenarios import identifiers, lexicon
from opdomain.scenarios.population import Enterprises, People, normalised_weights

USCC_SERIAL_SPACE = 31**6
MAX_ENTERPRISES = len(lexicon.MOBILE_PREFIXES) * 10 ** (8 - len(lexicon.MOBILE_MARKER))

_BRANDS = pa.array([*lexicon.BRAND_CHARS, ""])
_INDUSTRIES = pa.array(lexicon.INDUSTRY_WORDS)
_PREFIXES = pa.array([p for p, _ in lexicon.NAME_PREFIXES])
_SUFFIXES = pa.array([lexicon.LIMITED_SUFFIX, lexicon.JOINT_STOCK_SUFFIX])
_TOWNS = pa.array([t for t, _ in lexicon.TOWNS])
_PARKS = pa.array([p for p, _ in lexicon.INDUSTRIAL_PARKS])
_ROADS = pa.array(lexicon.ROAD_NAMES)
_SURNAMES = pa.array([s for s, _ in lexicon.SURNAMES])
_GIVEN = pa.array([*lexicon.MALE_GIVEN, *lexicon.FEMALE_GIVEN, ""])
_NO_CHAR = -1


@dataclass
class EnterpriseNames:
    """Index draws for each enterprise's credit code, name, contact mobile and address."""

    uscc_serial: np.ndarray  # ascending, so credit codes come out in ascending order
    prefix: np.ndarray
    brand: np.ndarray  # (n, 3) indices into BRAND_CHARS, -1 for no third character
    industry: np.ndarray
    joint_stock: np.ndarray
    mobile_serial: np.ndarray
    town: np.ndarray
    park: np.ndarray
    road: np.ndarray
    number: np.ndarray


def draw_enterprise_names(rng: np.random.Generator, ent: Enterprises) -> EnterpriseNames:
    n = ent.count
    if n > MAX_ENTERPRISES:
        raise ValueError(f"at most {MAX_ENTERPRISES} enterprises can get distinct mobile numbers")
    assert len(set(lexicon.BRAND_CHARS)) == len(lexicon.BRAND_CHARS)
    uscc_serial = np.sort(rng.choice(USCC_SERIAL_SPACE, n, replace=False))

    joint = ent.joint_stock
    prefix_names = [p for p, _ in lexicon.NAME_PREFIXES]
    joint_prefix = np.array([prefix_names.index(p) for p, _ in lexicon.JOINT_STOCK_PREFIXES])
    prefix = np.where(
        joint,
        joint_prefix[rng.choice(joint_prefix.size, n, p=normalised_weights(lexicon.JOINT_STOCK_PREFIXES))],
        rng.choice(len(prefix_names), n, p=normalised_weights(lexicon.NAME_PREFIXES)),
    )
    industry = rng.integers(0, len(lexicon.INDUSTRY_WORDS), n)
    brand = _distinct_brands(rng, prefix, industry)

    mobile_serial = rng.choice(MAX_ENTERPRISES, n, replace=False)
    town = rng.choice(len(lexicon.TOWNS), n, p=normalised_weights(lexicon.TOWNS))
    park = rng.choice(len(lexicon.INDUSTRIAL_PARKS), n, p=normalised_weights(lexicon.INDUSTRIAL_PARKS))
    road = rng.integers(0, len(lexicon.ROAD_NAMES), n)
    number = rng.integers(1, lexicon.STREET_NUMBER_MAX + 1, n)
    return EnterpriseNames(
        uscc_serial, prefix, brand, industry, joint, mobile_serial, town, park, road, number
    )


def _distinct_brands(rng: np.random.Generator, prefix: np.ndarray, industry: np.ndarray) -> np.ndarray:
    """Two-character brands (字号), unique per (prefix, brand, industry); an enterprise whose draw repeats
    an earlier one gets a three-character brand drawn without replacement, so every name is distinct.
    (A brand character is never the first character of an industry word, so lengths cannot collide.)"""
    b = len(lexicon.BRAND_CHARS)
    n = prefix.size
    two = rng.integers(0, b * b, n)
    key = (prefix * b * b + two) * len(lexicon.INDUSTRY_WORDS) + industry
    repeated = np.ones(n, dtype=bool)
    repeated[np.unique(key, return_index=True)[1]] = False
    brand = np.stack([two // b, two % b, np.full(n, _NO_CHAR)], axis=1)
    k = int(repeated.sum())
    if k:
        three = rng.choice(b**3, k, replace=False)
        brand[repeated] = np.stack([three // (b * b), (three // b) % b, three % b], axis=1)
    return brand


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _chars(pool: pa.Array, index: np.ndarray) -> pa.Array:
    """``pool[index]``, with -1 meaning the empty string (the pool's last entry)."""
    return pool.take(pa.array(np.where(index < 0, len(pool) - 1, index)))


def credit_codes(names: EnterpriseNames, rows: slice | np.ndarray) -> pa.Array:
    return identifiers.to_string_array(identifiers.credit_codes(names.uscc_serial[rows]))


def enterprise_names(names: EnterpriseNames, rows: slice) -> pa.Array:
    brand = names.brand[rows]
    return _join(
        _PREFIXES.take(pa.array(names.prefix[rows])),
        _chars(_BRANDS, brand[:, 0]),
        _chars(_BRANDS, brand[:, 1]),
        _chars(_BRANDS, brand[:, 2]),
        _INDUSTRIES.take(pa.array(names.industry[rows])),
        _SUFFIXES.take(pa.array(names.joint_stock[rows].astype(np.int64))),
    )


def mobiles(names: EnterpriseNames, rows: slice) -> pa.Array:
    chars = identifiers.mobile_numbers(
        lexicon.MOBILE_PREFIXES, lexicon.MOBILE_MARKER, names.mobile_serial[rows]
    )
    return identifiers.to_string_array(chars)


def addresses(names: EnterpriseNames, rows: slice) -> pa.Array:
    return _join(
        lexicon.ADDRESS_PREFIX,
        _TOWNS.take(pa.array(names.town[rows])),
        _PARKS.take(pa.array(names.park[rows])),
        _ROADS.take(pa.array(names.road[rows])),
        pc.cast(pa.array(names.number[rows]), pa.string()),
        "号",
    )


def person_names(people: People, rows: slice | np.ndarray) -> pa.Array:
    """姓 + 名: given-name characters come from the pool of the person's gender."""
    female_offset = np.where(people.male[rows], 0, len(lexicon.MALE_GIVEN))
    given2 = people.given2[rows]
    return _join(
        _SURNAMES.take(pa.array(people.surname[rows])),
        _chars(_GIVEN, people.given1[rows] + female_offset),
        _chars(_GIVEN, np.where(given2 < 0, _NO_CHAR, given2 + female_offset)),
    )


def resident_ids(people: People, rows: slice | np.ndarray) -> pa.Array:
    chars = identifiers.resident_ids(people.region[rows], people.birth[rows], people.sequence[rows])
    return identifiers.to_string_array(chars)
