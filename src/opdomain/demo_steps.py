"""Demo steps of the later capabilities (grants, consent, dev data, governed queries), run through the
real services as the named demo users — nothing here bypasses a rule.

泵阀共富贷 (SCENARIO.md): the authority grants operator ``oujiang-data`` the columns the 14-indicator
rating needs (subject keys and indicator inputs; no names, phones or resident IDs) for 3 years (R3.9a),
consent required for enterprises (R4.2b, R5.1a); about 85 % of the enterprises consent; the analyst
builds the dev copy (R4.4d) and runs governed queries on real data (R4.4c), one of which is refused.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opdomain.runtime import Runtime

OPERATOR = "oujiang-data"
SCENARIO = "泵阀共富贷融资能力评价"
DOMAIN_AREA = "普惠金融"
#: the columns the rating needs (SCENARIO.md "The 14 indicators"): subject keys and indicator inputs
BENGFA_COLUMNS: dict[str, list[str]] = {
    "amr.enterprise_registry": ["uscc"],
    "amr.certifications": ["uscc", "cert_type"],
    "tax.annual_tax": ["uscc", "year", "total_tax", "tax_credit_grade"],
    "eit.mu_efficiency": ["uscc", "year", "tax_per_mu", "value_added_per_mu", "is_above_scale", "honors"],
    "stats.sales_profit": ["uscc", "year", "sales_revenue", "total_profit", "labor_productivity"],
    "eco.green_lowcarbon": ["uscc", "year", "value_added_per_energy", "env_credit_color"],
    "sci.innovation": ["uscc", "year", "rd_expense", "invention_patents"],
    "hrss.insured_employees": ["uscc", "person_id"],
    "fin.shareholding_reform": ["uscc", "stage"],
}
CONSENT_SHARE = 0.85

QUERIES: tuple[tuple[str, str, str], ...] = (
    ("规上/规下企业数与平均销售收入 enterprises and mean sales revenue, above/below scale",
     "domain",
     "SELECT CASE WHEN e.is_above_scale THEN '规上' ELSE '规下' END AS category, "
     "count(*) AS enterprises, round(avg(s.sales_revenue) / 10000, 1) AS avg_sales_revenue_10k_yuan "
     "FROM eit.mu_efficiency e JOIN stats.sales_profit s ON e.uscc = s.uscc GROUP BY 1 ORDER BY 1"),
    ("参保职工人数分布 distribution of insured employees per enterprise",
     "domain",
     "SELECT CASE WHEN n < 10 THEN '1-9' WHEN n < 50 THEN '10-49' ELSE '50+' END AS employees, "
     "count(*) AS enterprises FROM (SELECT uscc, count(*) AS n FROM hrss.insured_employees GROUP BY uscc) t "
     "GROUP BY 1 ORDER BY 1"),
    ("纳税信用等级分布 tax credit grades (dev data: sampled, masked)",
     "dev",
     "SELECT tax_credit_grade, count(*) AS enterprises FROM tax.annual_tax GROUP BY 1 ORDER BY 1"),
    ("逐人工资明细（应被拒绝：未授权字段）per-person wages (must be refused: not granted)",
     "domain",
     "SELECT person_id, monthly_wage FROM hrss.insured_employees"),
    ("逐企业销售收入（应被拒绝：个体数据）per-enterprise revenue (must be refused: individual rows)",
     "domain",
     "SELECT uscc, sales_revenue FROM stats.sales_profit"),
)


def _consenting(usccs: list[str]) -> list[str]:
    """A deterministic ~85 % of the enterprises (by a hash of the credit code)."""
    cut = int(CONSENT_SHARE * 2**32)
    return [u for u in usccs if int(hashlib.sha256(u.encode()).hexdigest()[:8], 16) < cut]


def establish_grant(rt: Runtime, say: Console) -> str:
    """The 泵阀共富贷 grant for the demo operator (direct creation until the lifecycle lands)."""
    from opdomain.identity.service import principal_for
    from opdomain.lifecycle.grants import create_grant
    from opdomain.lifecycle.policy import three_year_term

    admin = principal_for(rt, "admin")
    starts_on, ends_on = three_year_term(date.today())
    grant = create_grant(rt, admin, operator_code=OPERATOR, scenario=SCENARIO, domain_area=DOMAIN_AREA,
                         columns=BENGFA_COLUMNS, starts_on=starts_on, ends_on=ends_on, k=10,
                         consent_subjects=("enterprise",))
    say.print(f"  ✓ 授权 grant {grant.id}: {OPERATOR} · {SCENARIO} · {DOMAIN_AREA} · {starts_on} – {ends_on}, "
              f"{len(grant.columns)} columns of {len(grant.datasets)} datasets, k = {grant.k}, "
              "企业授权 consent required")
    return grant.id


def consent_and_queries(rt: Runtime, say: Console, grant_id: str) -> None:
    """Enterprises' consents, the dev data, and governed queries — one refused with its reason."""
    from opdomain.catalog.ingest import read_version
    from opdomain.compute.devdata import build_dev_data
    from opdomain.compute.service import run_query
    from opdomain.errors import DomainError
    from opdomain.identity.service import principal_for
    from opdomain.lifecycle.consent import record_consents

    analyst = principal_for(rt, "analyst")
    # consent is recorded by the department that holds the enterprises' registration (市场监管)
    usccs = [str(u) for u in read_version(rt, "amr.enterprise_registry").column("uscc").to_pylist()]
    consenting = _consenting(usccs)
    result = record_consents(rt, principal_for(rt, "amr-staff"), subject_type="enterprise",
                             subject_ids=consenting, scenario=SCENARIO, operator_code=OPERATOR, channel="batch",
                             note="演示：企业授权书批量录入")
    say.print(f"  ✓ 企业授权 consent: {result.recorded} of {len(usccs)} enterprises "
              f"({100 * result.recorded / max(1, len(usccs)):.0f} %)")

    build = build_dev_data(rt, analyst, grant_id)
    ent = build.manifest["sample"]["subjects"].get("enterprise", {})
    say.print(f"  ✓ 开发环境数据 dev data {build.id}: {ent.get('sampled', 0)} of {ent.get('population', 0)} "
              "consenting enterprises sampled, identifiers pseudonymised, L3/L4 values masked")

    say.print("  受管控查询 governed queries (as analyst 吴思远):")
    for title, env, sql in QUERIES:
        say.print(f"  [bold]{title}[/bold]  [dim][{'运营域 domain' if env == 'domain' else '开发环境 dev'}][/dim]")
        say.print(f"    [dim]{escape(sql)}[/dim]", highlight=False)
        try:
            r = run_query(rt, analyst, grant_id, sql, env)
        except DomainError as exc:
            rule = exc.details.get("rule", "-")
            say.print(f"    [yellow]✗ 已拒绝 refused[/yellow] [dim]({exc.code}, rule {rule})[/dim]\n"
                      f"      {escape(exc.message.zh)}\n      {escape(exc.message.en)}")
            continue
        t = Table(*[str(c) for c in r["columns"]], padding=(0, 1))
        for row in r["rows"]:
            t.add_row(*["" if v is None else str(v) for v in row])
        say.print(t)


def run_later_steps(rt: Runtime, say: Console, passwords: dict[str, str]) -> dict[str, Any]:
    """The demo's story after the foundation: one function per capability, in the order of the rules."""
    out: dict[str, Any] = {}
    grant_id = establish_grant(rt, say)
    out["grants"] = {"bengfa": grant_id}
    consent_and_queries(rt, say, grant_id)
    return out
