"""The CLI of grants, consent, dev data and queries: the same services, bilingual refusals, exit codes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from opdomain.cli import app
from opdomain.runtime import Runtime
from tests.lifecycle import domain_setup
from tests.lifecycle.domain_setup import SCENARIO, source_column

#: fixtures shared with the lifecycle tests
bengfa, seeded_template, domain = domain_setup.bengfa, domain_setup.seeded_template, domain_setup.domain
runner = CliRunner()


def _run(rt: Runtime, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--home", str(rt.settings.home)], env={"COLUMNS": "200"})


def test_grant_consent_devdata_and_query_from_the_command_line(domain: Runtime, bengfa: Path, tmp_path: Path) -> None:
    ends = (date.today() + timedelta(days=365)).isoformat()
    created = _run(domain, "grant", "create", "--as", "admin", "--operator", "op1", "--scenario", SCENARIO,
                   "--column", "stats.sales_profit:uscc,sales_revenue", "--column", "eit.mu_efficiency:uscc,"
                   "is_above_scale", "--ends-on", ends, "--consent", "enterprise")
    assert created.exit_code == 0, created.output
    gid = re.search(r"grant ([0-9a-f]{32})", created.output).group(1)  # type: ignore[union-attr]

    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(u) for u in source_column(bengfa, "stats.sales_profit", "uscc")[:80]))
    consent = _run(domain, "consent", "grant", "--as", "amr-staff", "--subject-type", "enterprise", "--scenario",
                   SCENARIO, "--operator", "op1", "--file", str(ids))
    assert consent.exit_code == 0 and "80 consent(s) recorded" in consent.output

    built = _run(domain, "devdata", "build", "--grant", gid, "--as", "analyst")
    assert built.exit_code == 0 and "50 of 80 enterprise subjects" in built.output

    ok = _run(domain, "query", "--grant", gid, "--env", "domain", "--as", "analyst",
              "SELECT count(*) AS n FROM stats.sales_profit")
    assert ok.exit_code == 0 and " 80 " in ok.output

    refused = _run(domain, "query", "--grant", gid, "--env", "domain", "--as", "analyst",
                   "SELECT uscc FROM stats.sales_profit")
    assert refused.exit_code == 2
    assert "query.not_aggregated" in refused.output and "聚合" in refused.output and "aggregate" in refused.output

    other = _run(domain, "query", "--grant", gid, "--as", "analyst2", "SELECT count(*) FROM stats.sales_profit")
    assert other.exit_code == 2 and "workspace.other_operator" in other.output

    shown = _run(domain, "grant", "show", gid, "--as", "auditor")
    assert shown.exit_code == 0 and "perturb_number" in shown.output and "counting only" not in shown.output


def test_grant_create_refusal_exits_non_zero_in_both_languages(domain: Runtime) -> None:
    r = _run(domain, "grant", "create", "--as", "admin", "--operator", "op1", "--scenario", SCENARIO,
             "--column", "stats.sales_profit:sales_revenue", "--starts-on", "2025-01-01", "--ends-on", "2028-06-30")
    assert r.exit_code == 2 and "3 年" in r.output and "3 years" in r.output and "grant.term_too_long" in r.output
    r = _run(domain, "grant", "create", "--as", "analyst", "--operator", "op1", "--scenario", SCENARIO,
             "--column", "stats.sales_profit:sales_revenue", "--ends-on", "2027-06-30")
    assert r.exit_code == 2 and "auth.permission_denied" in r.output
