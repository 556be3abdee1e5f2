"""The numeric model behind the synthetic source data: enterprises and their insured employees.

Everything here is drawn with one ``numpy.random.Generator`` in a fixed order, so a seed fixes every
value. Amounts are integers in hundredths (分 for yuan, 0.01 亩, 0.01 吨标准煤) so that the decimal
columns are exact and the derived ratios (亩均税收 = 纳税总额 / 用地面积, …) are computed from the
values as stored. The distributions and their reasons are documented in docs/scenario-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opdomain.scenarios import lexicon

ABOVE_SCALE_REVENUE = 20_000_000  # yuan: 规模以上工业企业 means annual revenue ≥ 20 million (SCENARIO.md)
ABOVE_SCALE_SHARE = 0.30
YEAR_END = np.datetime64("2022-12-31")
ESTABLISHED_FIRST = np.datetime64("1985-01-01")
ESTABLISHED_LAST = np.datetime64("2021-12-31")
OLDEST_BIRTH = np.datetime64("1957-01-01")  # 65 on 2022-12-31
YOUNGEST_BIRTH = np.datetime64("2004-12-31")  # 18 on 2022-12-31
YOUNGEST_REP_BIRTH = np.datetime64("1992-12-31")  # legal representatives are 30 or older
INSURANCE_FLOOR = np.datetime64("1998-01-01")  # 城镇职工社会保险 as a unified system
REFORM_FLOOR = np.datetime64("2008-01-01")
MAX_EMPLOYEES = 5_000
SEQUENCES_PER_GENDER = 500  # GB 11643 order codes 000-999, odd for men


@dataclass
class Enterprises:
    """Per-enterprise values, index i is the i-th enterprise in credit-code order."""

    count: int
    established: np.ndarray  # datetime64[D]
    employees: np.ndarray  # int64, ≥ 1
    capital_c: np.ndarray  # registered capital, 0.01 万元
    revenue_c: np.ndarray  # 分
    value_added_c: np.ndarray
    profit_c: np.ndarray
    tax_c: np.ndarray
    land_c: np.ndarray  # 0.01 亩
    energy_c: np.ndarray  # 0.01 tce
    rd_c: np.ndarray
    patents: np.ndarray
    honors: np.ndarray
    tax_grade: np.ndarray  # index into lexicon.TAX_CREDIT_GRADES
    env_color: np.ndarray  # index into lexicon.ENV_CREDIT_COLORS
    reform_stage: np.ndarray  # index into lexicon.REFORM_STAGES
    reform_completed: np.ndarray  # datetime64[D], NaT unless completed or listed
    cert_enterprise: np.ndarray  # certification rows: enterprise index
    cert_type: np.ndarray  # index into lexicon.CERTIFICATIONS
    cert_issued: np.ndarray  # datetime64[D]

    @property
    def above_scale(self) -> np.ndarray:
        return self.revenue_c >= ABOVE_SCALE_REVENUE * 100

    @property
    def joint_stock(self) -> np.ndarray:
        return self.reform_stage >= lexicon.REFORM_STAGES.index("已完成股改")


@dataclass
class People:
    """Insured employees, one per index, ordered by enterprise, then resident ID.

    One person of every enterprise (``is_rep``) is its legal representative (法定代表人).
    """

    enterprise: np.ndarray
    is_rep: np.ndarray
    male: np.ndarray
    birth: np.ndarray  # datetime64[D]
    region: np.ndarray  # 6-digit address code as int
    sequence: np.ndarray  # 3-digit order code, odd for men
    surname: np.ndarray  # index into lexicon.SURNAMES
    given1: np.ndarray  # index into the gender's given-name pool
    given2: np.ndarray  # index into the pool, or -1 for a one-character given name
    wage: np.ndarray  # whole yuan
    insured_since: np.ndarray  # datetime64[D]


def normalised_weights(pairs: tuple[tuple[str, float], ...] | tuple[float, ...]) -> np.ndarray:
    w = np.array([p[1] if isinstance(p, tuple) else p for p in pairs], dtype=np.float64)
    return w / w.sum()


def _dates_between(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``lo + floor(u * (hi - lo + 1))`` clipped to ``hi``; ``u`` in [0, 1)."""
    span = (hi - lo).astype(np.int64) + 1
    offset = np.minimum((u * span).astype(np.int64), span - 1)
    return lo + offset.astype("timedelta64[D]")


def _add_years(dates: np.ndarray, years: int) -> np.ndarray:
    """Same day ``years`` later; 29 February becomes 1 March in a common year."""
    months = dates.astype("datetime64[M]")
    return (months + np.timedelta64(12 * years, "M")).astype("datetime64[D]") + (dates - months)


def _percentile(values: np.ndarray) -> np.ndarray:
    """Rank of each value in [0, 1] (ties broken by position, fine for a size score)."""
    if values.size == 1:
        return np.ones(1)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size)
    return ranks / (values.size - 1)


def _above_scale_factor(raw_revenue: np.ndarray) -> float:
    """Scale that puts round-half-up(30 %) of enterprises at or above 20 million yuan, the boundary
    falling between two enterprises so rounding to 分 cannot move anyone across it."""
    n = raw_revenue.size
    n_above = int(np.floor(n * ABOVE_SCALE_SHARE + 0.5))
    ordered = np.sort(raw_revenue)
    k = n - n_above  # the k-th smallest (0-based) is the smallest above-scale enterprise
    if n_above == 0:
        return ABOVE_SCALE_REVENUE / (ordered[-1] * 1.5)
    if k == 0:
        return ABOVE_SCALE_REVENUE / (ordered[0] * 0.9)
    return ABOVE_SCALE_REVENUE / float(np.sqrt(ordered[k - 1] * ordered[k]))


def _cents(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 100).astype(np.int64)


def draw_enterprises(rng: np.random.Generator, n: int) -> Enterprises:
    est_u = rng.beta(2.2, 1.6, n)
    established = _dates_between(np.full(n, ESTABLISHED_FIRST), np.full(n, ESTABLISHED_LAST), est_u)
    age_z = (0.5 - est_u) / 0.22  # older firms tend to be bigger
    size_z = 0.9 * rng.standard_normal(n) + 0.35 * age_z
    employees = np.clip(np.rint(np.exp(2.4 + 1.05 * size_z)), 1, MAX_EMPLOYEES).astype(np.int64)

    per_employee = np.exp(rng.normal(np.log(600_000), 0.55, n))
    raw_revenue = np.maximum(employees * per_employee, 150_000)
    revenue_c = _cents(raw_revenue * _above_scale_factor(raw_revenue))
    size = _percentile(revenue_c)

    value_added_c = _cents(revenue_c / 100 * rng.beta(6, 18, n))
    margin = np.clip(rng.normal(0.045 + 0.03 * size, 0.05, n), -0.4, 0.35)
    profit_c = _cents(revenue_c / 100 * margin)
    tax_c = _cents(revenue_c / 100 * np.exp(rng.normal(np.log(0.035), 0.35, n)))
    land = np.maximum(np.exp(np.log(0.5) + 0.85 * np.log(employees) + rng.normal(0, 0.45, n)), 0.5)
    land_c = _cents(land)
    energy = np.maximum(value_added_c / 100 / np.exp(rng.normal(np.log(25_000), 0.5, n)), 0.5)
    energy_c = _cents(energy)
    capital = np.exp(np.log(30) + 0.8 * np.log(employees) + rng.normal(0, 0.7, n))
    capital_c = _cents(_nice_round(np.maximum(capital, 3)))

    has_rd = rng.random(n) < np.clip(0.45 + 0.5 * size, 0, 0.95)
    intensity = np.clip(np.exp(rng.normal(np.log(0.025), 0.5, n)), 0.002, 0.12)
    rd_c = np.where(has_rd, _cents(revenue_c / 100 * intensity), 0)
    patents = rng.poisson(0.05 + 0.6 * (rd_c / 100 / 1e6) ** 0.8)
    honors = rng.poisson(0.15 + 1.5 * size**3)

    above = revenue_c >= ABOVE_SCALE_REVENUE * 100
    grade_above = rng.choice(5, n, p=normalised_weights(lexicon.TAX_GRADE_ABOVE_SCALE))
    grade_below = rng.choice(5, n, p=normalised_weights(lexicon.TAX_GRADE_BELOW_SCALE))
    tax_grade = np.where(above, grade_above, grade_below)
    new_taxpayer = established >= np.datetime64("2020-01-01")
    tax_grade = np.where(
        new_taxpayer & (rng.random(n) < lexicon.TAX_GRADE_NEW_TAXPAYER_M_SHARE),
        lexicon.TAX_CREDIT_GRADES.index("M"),
        tax_grade,
    )
    env_color = rng.choice(
        len(lexicon.ENV_CREDIT_COLORS), n, p=normalised_weights(lexicon.ENV_CREDIT_WEIGHTS)
    )

    # cumulative thresholds on one uniform draw: listed < completed < reforming < not started
    stage_u = rng.random(n)
    p_listed = np.where(size > 0.98, 0.08, 0.0)
    p_completed = p_listed + 0.02 + 0.15 * size**4
    p_reforming = p_completed + 0.05 + 0.25 * size**2
    reform_stage = np.select([stage_u < p_listed, stage_u < p_completed, stage_u < p_reforming], [3, 2, 1], 0)
    reform_lo = np.maximum(established, REFORM_FLOOR)
    reform_date = _dates_between(reform_lo, np.full(n, YEAR_END), rng.random(n))
    reform_completed = np.where(reform_stage >= 2, reform_date, np.datetime64("NaT"))

    cert_enterprise, cert_type, cert_issued = _draw_certifications(rng, established, size)
    return Enterprises(
        count=n,
        established=established,
        employees=employees,
        capital_c=capital_c,
        revenue_c=revenue_c,
        value_added_c=value_added_c,
        profit_c=profit_c,
        tax_c=tax_c,
        land_c=land_c,
        energy_c=energy_c,
        rd_c=rd_c,
        patents=patents.astype(np.int64),
        honors=honors.astype(np.int64),
        tax_grade=tax_grade,
        env_color=env_color,
        reform_stage=reform_stage,
        reform_completed=reform_completed.astype("datetime64[D]"),
        cert_enterprise=cert_enterprise,
        cert_type=cert_type,
        cert_issued=cert_issued,
    )


def _nice_round(x: np.ndarray) -> np.ndarray:
    """Round to a registered-capital-looking number: 1, 1.2, 1.5, 2, 3, 5 or 8 times a power of ten."""
    steps = np.array([1, 1.2, 1.5, 2, 3, 5, 8, 10])
    power = 10 ** np.floor(np.log10(x))
    mantissa = x / power
    nearest = steps[np.abs(mantissa[:, None] - steps[None, :]).argmin(axis=1)]
    return nearest * power


def _draw_certifications(
    rng: np.random.Generator, established: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0..n certifications per enterprise, at most one per type, likelier for bigger enterprises."""
    base = np.array([c[1] for c in lexicon.CERTIFICATIONS])
    p = np.clip(base[None, :] * (0.25 + 2.0 * size[:, None] ** 2), 0, 0.95)
    held = rng.random(p.shape) < p
    enterprise, kind = np.nonzero(held)  # row-major: by enterprise, then type
    window_start = np.array(
        [
            max(np.datetime64(f"{first}-01-01"), YEAR_END - np.timedelta64(365 * cycle - 1, "D"))
            if cycle
            else np.datetime64(f"{first}-01-01")
            for _, _, first, cycle in lexicon.CERTIFICATIONS
        ],
        dtype="datetime64[D]",
    )
    lo = np.maximum(established[enterprise], window_start[kind])
    issued = _dates_between(lo, np.full(lo.size, YEAR_END), rng.random(lo.size))
    return enterprise.astype(np.int64), kind.astype(np.int64), issued


def draw_people(rng: np.random.Generator, ent: Enterprises) -> People:
    n = int(ent.employees.sum())
    enterprise = np.repeat(np.arange(ent.count, dtype=np.int64), ent.employees)
    starts = np.concatenate([[0], np.cumsum(ent.employees)[:-1]])
    is_rep = np.zeros(n, dtype=bool)
    is_rep[starts] = True

    male = rng.random(n) < np.where(is_rep, 0.85, 0.62)
    birth_u = np.where(is_rep, rng.beta(2.5, 2.0, n), rng.beta(2.0, 2.4, n))
    birth = _dates_between(
        np.full(n, OLDEST_BIRTH), np.where(is_rep, YOUNGEST_REP_BIRTH, YOUNGEST_BIRTH), 1 - birth_u
    )
    region = _draw_regions(rng, birth)
    sequence = _order_codes(rng, region, birth, male)

    surname = rng.choice(len(lexicon.SURNAMES), n, p=normalised_weights(lexicon.SURNAMES))
    pool = len(lexicon.MALE_GIVEN)
    assert pool == len(lexicon.FEMALE_GIVEN)
    given1 = rng.integers(0, pool, n)
    given2 = np.where(rng.random(n) < lexicon.SINGLE_CHAR_GIVEN_SHARE, -1, rng.integers(0, pool, n))

    size_z = (np.log(ent.revenue_c / 100) - 16.0) / 1.2
    wage = 3_500 + np.exp(rng.normal(np.log(3_000), 0.75, n)) * (1 + 0.08 * size_z[enterprise])
    wage = np.clip(np.rint(np.where(is_rep, wage * 1.6, wage)), 3_500, 120_000).astype(np.int64)

    lo = np.maximum(np.maximum(_add_years(birth, 18), ent.established[enterprise]), INSURANCE_FLOOR)
    since_u = np.where(is_rep, rng.beta(1.0, 3.0, n), rng.beta(2.2, 1.0, n))  # staff: mostly recent
    insured_since = _dates_between(lo, np.full(n, YEAR_END), since_u)

    # an extract of the register lists each enterprise's employees in resident-ID order
    o = np.lexsort((sequence, birth, region, enterprise))
    return People(
        enterprise=enterprise[o],
        is_rep=is_rep[o],
        male=male[o],
        birth=birth[o],
        region=region[o],
        sequence=sequence[o],
        surname=surname[o],
        given1=given1[o],
        given2=given2[o],
        wage=wage[o],
        insured_since=insured_since[o],
    )


def _draw_regions(rng: np.random.Generator, birth: np.ndarray) -> np.ndarray:
    """Address code of each person's home region, as in force in the birth year."""
    home = rng.choice(
        len(lexicon.HOME_REGIONS),
        birth.size,
        p=normalised_weights(tuple((h[0], h[1]) for h in lexicon.HOME_REGIONS)),
    )
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    region = np.zeros(birth.size, dtype=np.int64)
    for h, (_, _, codes) in enumerate(lexicon.HOME_REGIONS):
        for code, first, last in codes:
            region[(home == h) & (year >= first) & (year <= last)] = int(code)
    assert (region > 0).all()
    return region


def _order_codes(
    rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """GB 11643 order codes, distinct among people of the same region, birth date and gender.

    People sharing (region, birth date, gender) get consecutive slots from a random starting slot, so
    the resident IDs are unique across the whole table.
    """
    days = birth.astype(np.int64)
    order = np.lexsort((male, days, region))
    key_sorted = np.stack([region[order], days[order], male[order]])
    new_group = np.ones(order.size, dtype=bool)
    new_group[1:] = (key_sorted[:, 1:] != key_sorted[:, :-1]).any(axis=0)
    group = np.cumsum(new_group) - 1
    group_start = np.flatnonzero(new_group)
    rank = np.arange(order.size) - group_start[group]
    if rank.size and rank.max() >= SEQUENCES_PER_GENDER:
        raise ValueError("too many people share a region, birth date and gender for distinct IDs")
    offset = rng.integers(0, SEQUENCES_PER_GENDER, group_start.size)
    slot = (offset[group] + rank) % SEQUENCES_PER_GENDER
    sequence = np.empty(order.size, dtype=np.int64)
    sequence[order] = 2 * slot + male[order]
    return sequence
