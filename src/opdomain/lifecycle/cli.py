"""CLI of the authorization lifecycle: ``opdomain agreement verify``, ``opdomain lifecycle …``.

Thin commands over the services; admin commands act as a named person (``--as``). ``agreement verify``
needs no account and no database: anyone holding the sealed file checks it (and, with ``--home`` or
``--public-key``, that it carries this installation's contract seal).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opdomain.errors import DomainError

agreement_app = typer.Typer(help="运营协议 agreements: verify a sealed agreement", no_args_is_help=True)
lifecycle_app: typer.Typer = typer.Typer(help="授权程序 authorization lifecycle: applications, steps, tick, diagram",
                            no_args_is_help=True)
from opdomain.cli_common import AsOpt, HomeOpt, err, out  # noqa: E402,F401
from opdomain.cli_common import acting as _acting  # noqa: E402,F401
from opdomain.cli_common import fail as _fail  # noqa: E402,F401
from opdomain.cli_common import open_domain as _runtime  # noqa: E402,F401


@agreement_app.command("verify")
def verify(path: Path,
           public_key: Annotated[str | None, typer.Option(help="the authority's seal key, 64 hex digits")] = None,
           home: Annotated[Path | None, typer.Option("--home", help="check against this installation's seal")] = None,
           ) -> None:
    """Verifies a sealed agreement file: exit 0 if intact and sealed, 1 otherwise."""
    from opdomain.lifecycle.agreement import SEAL_KEY, public_key_hex, verify_sealed

    if not path.is_file():
        err.print(f"[red]✗ no such file: {path}[/red]")
        raise typer.Exit(2)
    trusted = public_key
    if trusted is None and home is not None:
        key_file = home.expanduser() / "keys" / f"{SEAL_KEY}.ed25519"
        if key_file.exists():
            from cryptography.hazmat.primitives import serialization

            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            trusted = public_key_hex(key.public_key())  # type: ignore[arg-type]
    result = verify_sealed(path.read_bytes(), trusted_public_key=trusted)
    if not result.ok:
        err.print(f"[red]✗ 协议校验失败 verification failed:[/red] {result.problem}")
        raise typer.Exit(1)
    out.print(f"[green]✓ 协议完整，合同专用章有效[/green] agreement {result.agreement_id} intact and sealed "
              f"(ed25519 key {result.key_id}, by {result.sealed_by} at {result.sealed_at})"
              + ("" if result.trusted_key else " — [yellow]key not checked against the authority's: "
                 "pass --public-key or --home[/yellow]"))


@lifecycle_app.command("list")
def list_cmd(as_user: AsOpt, home: HomeOpt = None) -> None:
    """Lists the applications the user may see, with their state."""
    from opdomain.lifecycle.applications import list_applications

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "application.read")
        t = Table("application", "operator", "scenario", "term", "state", "grant")
        for a in list_applications(rt, p):
            t.add_row(a.id, a.operator_code, a.scenarios[0]["name"] if a.scenarios else "-",
                      f"{a.starts_on} – {a.ends_on}", a.state, a.grant_id or "-")
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("timeline")
def timeline_cmd(subject_id: str, as_user: AsOpt, grant: bool = False, home: HomeOpt = None) -> None:
    """The timeline of an application (or of a grant with --grant)."""
    from opdomain.lifecycle.applications import timeline

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "grant.read" if grant else "application.read")
        t = Table("at", "action", "from", "to", "actor", "reason")
        for e in timeline(rt, p, "grant" if grant else "application", subject_id):
            t.add_row(e["at"][:19], e["action"], e["from"], e["to"], e["actor"], e["reason"][:60])
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("step")
def step_cmd(application_id: str, step: str, as_user: AsOpt,
             reason: Annotated[str, typer.Option(help="reasons / conclusion / answer")] = "",
             data: Annotated[str, typer.Option(help="JSON of further arguments, e.g. '{\"experts\": [...]}'")] = "{}",
             home: HomeOpt = None) -> None:
    """Performs one step of the process on an application (submit, begin_pre_review, request_materials,
    resubmit, pass_pre_review, conclude_expert_review, approve, reject, file, sign_agreement, activate,
    withdraw); refused with the rule named when out of order."""
    from opdomain.lifecycle import applications as apps

    extra = json.loads(data)
    for key in ("deadline",):
        if key in extra:
            extra[key] = date.fromisoformat(extra[key])
    calls = {
        "submit": lambda rt, p: apps.submit(rt, p, application_id),
        "resubmit": lambda rt, p: apps.resubmit(rt, p, application_id),
        "withdraw": lambda rt, p: apps.withdraw(rt, p, application_id, reason=reason),
        "begin_pre_review": lambda rt, p: apps.begin_pre_review(rt, p, application_id),
        "request_materials": lambda rt, p: apps.request_materials(rt, p, application_id, **extra),
        "pass_pre_review": lambda rt, p: apps.pass_pre_review(rt, p, application_id, **extra),
        "conclude_expert_review": lambda rt, p: apps.conclude_expert_review(rt, p, application_id, conclusion=reason),
        "approve": lambda rt, p: apps.approve(rt, p, application_id, reasons=reason, **extra),
        "reject": lambda rt, p: apps.reject(rt, p, application_id, reasons=reason),
        "file": lambda rt, p: apps.file_with_government(rt, p, application_id, **extra),
        "sign_agreement": lambda rt, p: apps.sign_agreement(rt, p, application_id),
        "activate": lambda rt, p: apps.activate(rt, p, application_id),
    }
    if step not in calls:
        err.print(f"[red]✗ unknown step {step}[/red] (one of: {', '.join(calls)})")
        raise typer.Exit(2)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "session.me")
        view = calls[step](rt, p)
        out.print(f"[green]✓[/green] {application_id}: {step} → {view.state}"
                  + (f" (grant {view.grant_id})" if view.grant_id else ""))
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("tick")
def tick_cmd(as_user: AsOpt, today: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
             home: HomeOpt = None) -> None:
    """Runs the daily duties: expiry at the end of term, lapsed corrections, renewal reminders, e-mail."""
    from opdomain.lifecycle.ending import tick

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "lifecycle.tick")
        r = tick(rt, date.fromisoformat(today) if today else None, actor=p)
        out.print(f"✓ expired {len(r.expired)}, lapsed {len(r.lapsed)}, renewal reminders {r.renewal_warnings}, "
                  f"e-mailed {r.emailed}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("diagram")
def diagram_cmd() -> None:
    """Prints the mermaid diagrams of both state machines (generated from the transition tables)."""
    from opdomain.lifecycle.docs import lifecycle_diagrams

    out.print(lifecycle_diagrams(), markup=False, highlight=False)


# the steps with rich input (announce, apply, material, score, objection, data requests) and `opdomain people`
from opdomain.lifecycle.cli_process import people_app  # noqa: E402,F401
