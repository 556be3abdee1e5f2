"""What the generated source data holds: valid fictional identifiers, one row per enterprise, realistic
and consistent values (SCENARIO.md "Source data"; docs/scenario-data.md)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import numpy as np
from stdnum.cn import ric, uscc

PER_ENTERPRISE = [
    "amr.enterprise_registry",
    "tax.annual_tax",
    "eit.mu_efficiency",
    "stats.sales_profit",
    "eco.green_lowcarbon",
    "sci.innovation",
    "fin.shareholding_reform",
]
MOBILE = re.compile(r"^1(3\d|5[0-35-9]|8\d|9[135689])\d{8}$")
CENT = Decimal("0.01")


def gb11714_check(body: str) -> str:
    """Check character of an organisation code (GB 11714-1997), written independently of the generator."""
    value = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    total = sum(value[c] * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def ric_check(first17: str) -> str:
    # python-stdnum's calc_check_digit ignores the last character: pass a placeholder
    return ric.calc_check_digit(first17 + "0")


def test_gb11714_helper_agrees_with_a_published_code():
    # Arrange: 91110000600037341L is python-stdnum's documented valid USCC; its org code is 60003734-1
    # Act / Assert
    assert gb11714_check("60003734") == "1"


def test_credit_codes_are_valid_unique_yongjia_enterprise_codes(generated):
    # Act
    codes = generated.rows("amr.enterprise_registry")["uscc"]

    # Assert
    assert len(codes) == generated.enterprises == len(set(codes))
    for code in codes:
        assert uscc.is_valid(code), code
        assert code.startswith("91330324")  # authority 9, enterprise 1, 永嘉县 330324
        assert code[16] == gb11714_check(code[8:16]), code


def test_resident_ids_are_valid_unique_and_agree_with_birth_date_and_gender(generated):
    # Act
    hrss = generated.rows("hrss.insured_employees")

    # Assert
    ids = hrss["person_id"]
    assert len(set(ids)) == len(ids)
    for person_id, birth, gender in zip(ids, hrss["birth_date"], hrss["gender"], strict=True):
        assert ric.is_valid(person_id), person_id
        assert person_id[-1] == ric_check(person_id[:17])
        assert person_id[:2] == "33"  # 浙江
        assert ric.get_birth_date(person_id) == birth
        assert gender == ("男" if int(person_id[16]) % 2 else "女")
    assert Counter(i[:6] for i in ids if i[6:10] >= "1981").most_common(1)[0][0] == "330324"


def test_legal_representatives_have_valid_ids_and_are_insured_at_their_own_enterprise(generated):
    # Arrange
    registry = generated.rows("amr.enterprise_registry")
    hrss = generated.rows("hrss.insured_employees")
    employees = {(u, p): n for u, p, n in zip(hrss["uscc"], hrss["person_id"], hrss["name"], strict=True)}

    # Act
    reps = list(zip(registry["uscc"], registry["legal_rep_id"], registry["legal_rep_name"], strict=True))

    # Assert
    for code, rep_id, rep_name in reps:
        assert ric.is_valid(rep_id)
        assert employees[(code, rep_id)] == rep_name
    assert len({r[1] for r in reps}) == len(reps)


def test_mobile_numbers_are_well_formed_unique_and_carry_the_synthetic_marker(generated):
    # Act
    phones = generated.rows("amr.enterprise_registry")["phone"]

    # Assert
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert MOBILE.match(phone), phone
        assert phone[3:6] == "000"


def test_every_enterprise_appears_once_in_each_per_enterprise_table(generated):
    # Arrange
    codes = set(generated.rows("amr.enterprise_registry")["uscc"])

    for name in PER_ENTERPRISE:
        # Act
        column = generated.rows(name)["uscc"]

        # Assert
        assert len(column) == len(set(column)) == generated.enterprises, name
        assert set(column) == codes, name
        if "year" in generated.table(name).column_names:
            assert set(generated.rows(name)["year"]) == {2022}
    for name in ("amr.certifications", "hrss.insured_employees"):
        assert set(generated.rows(name)["uscc"]) <= codes


def test_every_enterprise_has_insured_employees_heavy_tailed(default):
    # Act
    sizes = np.array(list(Counter(default.rows("hrss.insured_employees")["uscc"]).values()))

    # Assert
    assert sizes.size == default.enterprises and sizes.min() >= 1
    assert np.median(sizes) <= 15  # many small firms ...
    assert (sizes <= 5).mean() >= 0.2
    assert sizes.max() >= 100  # ... a few with hundreds


def test_above_scale_means_revenue_of_20_million_and_about_30_percent_are(generated):
    # Arrange
    sales = generated.rows("stats.sales_profit")
    revenue = dict(zip(sales["uscc"], sales["sales_revenue"], strict=True))

    # Act
    eit = generated.rows("eit.mu_efficiency")
    flags = dict(zip(eit["uscc"], eit["is_above_scale"], strict=True))

    # Assert
    for code, above in flags.items():
        assert above == (revenue[code] >= Decimal(20_000_000)), code
    assert abs(sum(flags.values()) / len(flags) - 0.30) <= 0.05


def _by_uscc(generated, name: str) -> dict[str, dict]:
    rows = generated.rows(name)
    return {
        r["uscc"]: r
        for r in (dict(zip(rows, values, strict=True)) for values in zip(*rows.values(), strict=True))
    }


def test_per_mu_and_per_energy_ratios_agree_with_the_stored_values(generated):
    # Arrange
    tax = _by_uscc(generated, "tax.annual_tax")
    eco = _by_uscc(generated, "eco.green_lowcarbon")

    # Act
    eit = _by_uscc(generated, "eit.mu_efficiency")

    # Assert
    for code, row in eit.items():
        assert row["land_mu"] > 0 and eco[code]["energy_tce"] > 0
        assert row["tax_per_mu"] == (tax[code]["total_tax"] / row["land_mu"]).quantize(CENT)
        assert row["value_added_per_mu"] == (row["value_added"] / row["land_mu"]).quantize(CENT)
        per_energy = (row["value_added"] / eco[code]["energy_tce"]).quantize(CENT)
        assert eco[code]["value_added_per_energy"] == per_energy


def test_labor_productivity_is_value_added_per_insured_employee(generated):
    # Arrange
    employees = Counter(generated.rows("hrss.insured_employees")["uscc"])
    eit = _by_uscc(generated, "eit.mu_efficiency")

    # Act
    stats = _by_uscc(generated, "stats.sales_profit")

    # Assert
    for code, row in stats.items():
        assert abs(row["labor_productivity"] - eit[code]["value_added"] / employees[code]) <= CENT


def _rank_correlation(x, y) -> float:
    rx, ry = (np.argsort(np.argsort(np.asarray(v, dtype=float))) for v in (x, y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_bigger_enterprises_have_more_tax_value_added_profit_and_rd(default):
    # Arrange
    employees = Counter(default.rows("hrss.insured_employees")["uscc"])
    codes = sorted(employees)
    size = [employees[c] for c in codes]
    tax = _by_uscc(default, "tax.annual_tax")
    eit = _by_uscc(default, "eit.mu_efficiency")
    stats = _by_uscc(default, "stats.sales_profit")
    sci = _by_uscc(default, "sci.innovation")

    # Act
    correlations = {
        "tax": _rank_correlation(size, [tax[c]["total_tax"] for c in codes]),
        "value_added": _rank_correlation(size, [eit[c]["value_added"] for c in codes]),
        "profit": _rank_correlation(size, [stats[c]["total_profit"] for c in codes]),
        "rd": _rank_correlation(size, [sci[c]["rd_expense"] for c in codes]),
    }

    # Assert
    assert correlations["tax"] > 0.6 and correlations["value_added"] > 0.6
    assert correlations["profit"] > 0.3 and correlations["rd"] > 0.3
    losses = sum(r["total_profit"] < 0 for r in stats.values()) / len(stats)
    assert 0.03 <= losses <= 0.25  # some enterprises make a loss


def test_categories_come_from_the_scenario_and_are_mostly_good(default):
    # Act
    grades = Counter(default.rows("tax.annual_tax")["tax_credit_grade"])
    colours = Counter(default.rows("eco.green_lowcarbon")["env_credit_color"])
    stages = Counter(default.rows("fin.shareholding_reform")["stage"])

    # Assert
    n = default.enterprises
    assert set(grades) == {"A", "B", "M", "C", "D"} and (grades["A"] + grades["B"]) / n > 0.65
    assert set(colours) == {"绿", "蓝", "黄", "红"} and (colours["绿"] + colours["蓝"]) / n > 0.7
    assert set(stages) <= {"未启动", "推进中", "已完成股改", "已上市"} and stages["未启动"] / n > 0.6
    assert stages["推进中"] and stages["已完成股改"]


def test_completed_on_is_set_exactly_when_the_reform_is_completed_or_listed(generated):
    # Arrange
    registry = _by_uscc(generated, "amr.enterprise_registry")

    # Act
    reform = _by_uscc(generated, "fin.shareholding_reform")

    # Assert
    for code, row in reform.items():
        done = row["stage"] in ("已完成股改", "已上市")
        assert (row["completed_on"] is not None) == done, code
        assert registry[code]["is_joint_stock"] == done
        if done:
            assert registry[code]["established_on"] <= row["completed_on"] <= dt.date(2022, 12, 31)


def test_names_are_unique_and_joint_stock_iff_the_name_says_so(generated):
    # Act
    registry = generated.rows("amr.enterprise_registry")

    # Assert
    assert len(set(registry["name"])) == len(registry["name"])
    for name, joint in zip(registry["name"], registry["is_joint_stock"], strict=True):
        assert name.endswith("有限公司")
        assert ("股份" in name) == joint, name
    assert all(a.startswith("浙江省温州市永嘉县") and a.endswith("号") for a in registry["address"])


def test_enterprises_were_established_1985_to_2021_with_positive_capital(generated):
    # Act
    registry = generated.rows("amr.enterprise_registry")

    # Assert
    assert all(dt.date(1985, 1, 1) <= d <= dt.date(2021, 12, 31) for d in registry["established_on"])
    assert all(c > 0 for c in registry["registered_capital"])


def test_certifications_are_distinct_per_enterprise_and_issued_after_establishment(generated):
    # Arrange
    established = dict(
        zip(*(generated.rows("amr.enterprise_registry")[k] for k in ("uscc", "established_on")), strict=True)
    )

    # Act
    certs = generated.rows("amr.certifications")

    # Assert
    pairs = list(zip(certs["uscc"], certs["cert_type"], strict=True))
    assert len(pairs) == len(set(pairs))
    assert {"ISO9001", "高新技术企业", "专精特新"} <= set(certs["cert_type"])
    for (code, _), issued in zip(pairs, certs["issued_on"], strict=True):
        assert established[code] <= issued <= dt.date(2022, 12, 31)
    per_enterprise = Counter(certs["uscc"])
    assert len(per_enterprise) < generated.enterprises  # some hold none


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 3, 1)


def test_employees_are_18_to_65_and_insured_after_18_and_after_establishment(generated):
    # Arrange
    established = dict(
        zip(*(generated.rows("amr.enterprise_registry")[k] for k in ("uscc", "established_on")), strict=True)
    )
    year_end = dt.date(2022, 12, 31)

    # Act
    hrss = generated.rows("hrss.insured_employees")

    # Assert
    for code, birth, since in zip(hrss["uscc"], hrss["birth_date"], hrss["insured_since"], strict=True):
        assert _add_years(birth, 18) <= year_end < _add_years(birth, 66)
        assert max(_add_years(birth, 18), established[code]) <= since <= year_end


def test_monthly_wages_are_realistic_and_heavy_tailed(default):
    # Act
    wages = np.array([float(w) for w in default.rows("hrss.insured_employees")["monthly_wage"]])

    # Assert
    assert wages.min() >= 3500
    assert 5000 <= np.median(wages) <= 10_000
    assert np.percentile(wages, 99) > 2 * np.median(wages)
    genders = Counter(default.rows("hrss.insured_employees")["gender"])
    assert set(genders) == {"男", "女"}
