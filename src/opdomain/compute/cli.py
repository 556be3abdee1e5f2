"""CLI of grants, consent, dev data and governed queries (``opdomain grant|consent|devdata|query``).

Commands are thin: they act as a named person (``--as USER``) and call the same services as the API,
through the same deny-by-default permission check; refusals print Chinese and English and exit non-zero.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

# opdomain.cli imports this module to register it: its helpers are imported lazily, never at load time
from opdomain.cli_common import AsOpt, HomeOpt, err, out
from opdomain.cli_common import acting as _acting
from opdomain.cli_common import fail as _fail
from opdomain.cli_common import open_domain as _runtime
from opdomain.errors import DomainError

grant_app = typer.Typer(help="授权 grants: create, list, show, suspend, resume", no_args_is_help=True)
consent_app = typer.Typer(help="个人/企业授权 consent registry: grant, withdraw, list", no_args_is_help=True)
devdata_app = typer.Typer(help="开发环境数据 dev data: build", no_args_is_help=True)


def _parse_columns(specs: list[str]) -> dict[str, list[str]]:
    """``dataset:col1,col2`` (repeatable) → {dataset: [cols]}."""
    out_: dict[str, list[str]] = {}
    for spec in specs:
        dataset, _, cols = spec.partition(":")
        if not dataset or not cols:
            raise typer.BadParameter(f"expected DATASET:COL1,COL2 — got {spec!r}")
        out_.setdefault(dataset.strip(), []).extend(c.strip() for c in cols.split(",") if c.strip())
    return out_


@grant_app.command("create")
def grant_create(
    as_user: AsOpt,
    operator: Annotated[str, typer.Option(help="operator organization code")],
    scenario: Annotated[str, typer.Option(help="application scenario (应用场景)")],
    column: Annotated[list[str], typer.Option("--column", help="DATASET:COL1,COL2 (repeatable)")],
    ends_on: Annotated[str, typer.Option(help="last day of the term, YYYY-MM-DD (≤ 3 years, R3.9a)")],
    domain_area: Annotated[str, typer.Option(help="领域, e.g. 普惠金融")] = "普惠金融",
    starts_on: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    k: int = 10,
    consent: Annotated[list[str] | None, typer.Option("--consent", help="person|enterprise (repeatable)")] = None,
    home: HomeOpt = None,
) -> None:
    """Creates an active grant (authority admins)."""
    from opdomain.lifecycle.grants import create_grant

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "grant.create")
        view = create_grant(rt, principal, operator_code=operator, scenario=scenario, domain_area=domain_area,
                            columns=_parse_columns(column),
                            starts_on=date.fromisoformat(starts_on) if starts_on else date.today(),
                            ends_on=date.fromisoformat(ends_on), k=k, consent_subjects=consent or ())
        out.print(f"[green]✓[/green] grant {view.id} for {view.operator_code}: {view.scenario} "
                  f"({view.starts_on} – {view.ends_on})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@grant_app.command("list")
def grant_list(as_user: AsOpt, home: HomeOpt = None) -> None:
    """Lists the grants the user may see."""
    from opdomain.lifecycle.grants import list_grants

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "grant.read")
        t = Table("grant", "operator", "scenario", "area", "term", "status", "k", "consent", "datasets")
        for g in list_grants(rt, principal):
            t.add_row(g.id, g.operator_code, g.scenario, g.domain_area, f"{g.starts_on} – {g.ends_on}",
                      g.effective_status, str(g.k), ",".join(g.consent_subjects) or "-", str(len(g.datasets)))
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@grant_app.command("show")
def grant_show(grant_id: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """Shows one grant with its granted columns, grades and masks."""
    from opdomain.compute.service import grant_schema
    from opdomain.lifecycle.grants import get_grant

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "grant.read")
        g = get_grant(rt, principal, grant_id)
        out.print(f"[bold]{g.scenario}[/bold]  {g.id}\n  operator {g.operator_code} ({g.operator_name}) · "
                  f"{g.domain_area} · {g.starts_on} – {g.ends_on} · status {g.effective_status} · k={g.k} · "
                  f"consent: {', '.join(g.consent_subjects) or '-'}")
        t = Table("dataset", "column", "type", "grade", "identifier", "visible", "dev mask", "domain mask")
        for table in grant_schema(rt, principal, grant_id)["tables"]:
            for c in table["columns"]:
                t.add_row(table["name"], c["name"], c["type"], c["grade"], c["identifier"] or "",
                          "yes" if c["visible"] else "counting only", c["dev_mask"], c["domain_mask"])
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def _status_change(grant_id: str, as_user: str, reason: str, home: Path | None, suspend: bool) -> None:
    from opdomain.lifecycle.grants import resume_grant, suspend_grant

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "grant.manage")
        view = (suspend_grant if suspend else resume_grant)(rt, principal, grant_id, reason=reason)
        out.print(f"[green]✓[/green] grant {grant_id} is now {view.status}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@grant_app.command("suspend")
def grant_suspend(grant_id: str, as_user: AsOpt, reason: Annotated[str, typer.Option()],
                  home: HomeOpt = None) -> None:
    """Suspends an active grant: its workspace closes at once (authority admins)."""
    _status_change(grant_id, as_user, reason, home, suspend=True)


@grant_app.command("resume")
def grant_resume(grant_id: str, as_user: AsOpt, reason: Annotated[str, typer.Option()],
                 home: HomeOpt = None) -> None:
    """Resumes a suspended grant (authority admins)."""
    _status_change(grant_id, as_user, reason, home, suspend=False)


SubjectTypeOpt = Annotated[str, typer.Option("--subject-type", help="person | enterprise")]
ScenarioOpt = Annotated[str, typer.Option(help="scenario, e.g. 泵阀共富贷融资能力评价")]
OperatorOpt = Annotated[str, typer.Option(help="operator organization code")]


def _ids(subject_id: str | None, file: Path | None) -> list[str]:
    ids = [subject_id] if subject_id else []
    if file is not None:
        ids += [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not ids:
        raise typer.BadParameter("give --id or --file")
    return ids


@consent_app.command("grant")
def consent_grant(as_user: AsOpt, subject_type: SubjectTypeOpt, scenario: ScenarioOpt, operator: OperatorOpt,
                  subject_id: Annotated[str | None, typer.Option("--id", help="resident ID or credit code")] = None,
                  file: Annotated[Path | None, typer.Option("--file", help="one id per line")] = None,
                  channel: str = "counter", note: str = "", home: HomeOpt = None) -> None:
    """Records the consent of a person or enterprise (R4.2b, R5.1a)."""
    from opdomain.lifecycle.consent import record_consent, record_consents

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "consent.manage")
        ids = _ids(subject_id, file)
        if file is None:
            r = record_consent(rt, principal, subject_type=subject_type, subject_id=ids[0], scenario=scenario,
                               operator_code=operator, channel=channel, note=note)
        else:
            r = record_consents(rt, principal, subject_type=subject_type, subject_ids=ids, scenario=scenario,
                                operator_code=operator, channel=channel if channel != "counter" else "batch",
                                note=note)
        out.print(f"[green]✓[/green] {r.recorded} consent(s) recorded, {r.unchanged} already in place "
                  f"(batch digest {r.digest[:16]}…)")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@consent_app.command("withdraw")
def consent_withdraw(as_user: AsOpt, subject_type: SubjectTypeOpt, scenario: ScenarioOpt, operator: OperatorOpt,
                     subject_id: Annotated[str, typer.Option("--id", help="resident ID or credit code")],
                     channel: str = "counter", note: str = "", home: HomeOpt = None) -> None:
    """Records a withdrawal: the engine stops using the subject's rows at once."""
    from opdomain.lifecycle.consent import withdraw_consent

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "consent.manage")
        withdraw_consent(rt, principal, subject_type=subject_type, subject_id=subject_id, scenario=scenario,
                         operator_code=operator, channel=channel, note=note)
        out.print("[green]✓[/green] consent withdrawn")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@consent_app.command("list")
def consent_list(as_user: AsOpt, scenario: Annotated[str | None, typer.Option()] = None,
                 operator: Annotated[str | None, typer.Option()] = None,
                 subject_type: Annotated[str | None, typer.Option("--subject-type")] = None,
                 withdrawn: Annotated[bool, typer.Option("--withdrawn/--current")] = False,
                 limit: int = 50, home: HomeOpt = None) -> None:
    """Lists current consents (ids masked), or also withdrawn ones."""
    from opdomain.lifecycle.consent import list_consents

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "consent.read")
        items = list_consents(rt, principal, scenario=scenario, operator_code=operator, subject_type=subject_type,
                              include_withdrawn=withdrawn, limit=100_000)
        t = Table("subject", "type", "scenario", "operator", "state", "channel", "by", "at")
        for c in items[:limit]:
            t.add_row(c.subject_masked, c.subject_type, c.scenario, c.operator_code, c.action, c.channel,
                      c.recorded_by, c.recorded_at.strftime("%Y-%m-%d %H:%M"))
        out.print(t)
        out.print(f"{len(items)} subject(s)" + (f", first {limit} shown" if len(items) > limit else ""))
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@devdata_app.command("build")
def devdata_build(grant: Annotated[str, typer.Option("--grant", help="grant id")], as_user: AsOpt,
                  home: HomeOpt = None) -> None:
    """Builds (or rebuilds) the grant's sampled, masked dev copy (R4.4d)."""
    from opdomain.compute.devdata import build_dev_data
    from opdomain.identity.roles import can
    from opdomain.identity.service import principal_for

    rt = _runtime(home)
    try:
        principal = principal_for(rt, as_user)
        _acting(rt, as_user, "grant.manage" if can(principal.role, "grant.manage") else "workspace.use")
        b = build_dev_data(rt, principal, grant)
        t = Table("dataset", "rows (dev)", "rows (source)", "masked columns")
        for name, info in b.manifest["tables"].items():
            t.add_row(name, str(info["rows"]), str(info["source_rows"]),
                      ", ".join(f"{c}:{k}" for c, k in info["masks"].items() if k != "clear") or "-")
        out.print(t)
        for subject, s in b.manifest["sample"].get("subjects", {}).items():
            out.print(f"[green]✓[/green] dev data {b.id}: {s['sampled']} of {s['population']} {subject} subjects "
                      f"sampled{' (consenting only)' if s['consent_only'] else ''}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def print_result(result: dict[str, object]) -> None:
    t = Table(*[str(c) for c in result["columns"]])  # type: ignore[attr-defined]
    for row in result["rows"]:  # type: ignore[attr-defined]
        t.add_row(*["" if v is None else str(v) for v in row])
    out.print(t)
    note = " (truncated)" if result.get("truncated") else ""
    out.print(f"{result['row_count']} row(s){note} · {result['environment']} · {result['ms']} ms · "
              f"query {result['query_id']}")


def query_cmd(sql: Annotated[str, typer.Argument(help="one SELECT statement")],
              grant: Annotated[str, typer.Option("--grant", help="grant id")],
              as_user: AsOpt,
              env: Annotated[str, typer.Option("--env", help="dev | domain")] = "dev",
              home: HomeOpt = None) -> None:
    """Runs a governed query in a grant's workspace (analysts); results stay in the domain's console."""
    from opdomain.compute.service import run_query

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "workspace.use")
        print_result(run_query(rt, principal, grant, sql, env))
    except DomainError as exc:
        rule = exc.details.get("rule")
        if rule:
            err.print(f"  [dim]rule {rule}[/dim]")
        _fail(exc)
    finally:
        rt.close()
