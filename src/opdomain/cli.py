"""The ``opdomain`` command (Typer). Commands are thin: they call services.

Admin commands act as a named person (``--as USER``, or ``OPDOMAIN_USER``) and go through the
same deny-by-default permission check as the API; refusals are audited.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from opdomain import cli_common as common
from opdomain.cli_common import AsOpt, HomeOpt
from opdomain.errors import DomainError

app = typer.Typer(
    help="opdomain — 公共数据授权运营域 Public Data Authorized Operation Domain",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
dataset_app = typer.Typer(help="数据集 datasets: import, list, forbid", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 audit log: verify, checkpoint, list", no_args_is_help=True)
scenario_app = typer.Typer(help="参考场景 reference scenario (泵阀共富贷)", no_args_is_help=True)
org_app = typer.Typer(help="单位 organizations", no_args_is_help=True)
user_app = typer.Typer(help="用户 users", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(audit_app, name="audit")
app.add_typer(scenario_app, name="scenario")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")

out, err = common.out, common.err
_settings = common.settings_for
_runtime = common.open_domain
_fail = common.fail
_acting = common.acting


@app.command()
def init(home: HomeOpt = None) -> None:
    """Creates (or migrates) a data directory: records database, keys, folders."""
    rt = _runtime(home)
    out.print(f"[green]✓[/green] data directory {rt.settings.home} ready (records: {rt.store.engine.dialect.name})")
    rt.close()


@app.command()
def serve(home: HomeOpt = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serves the API (/api/v1, /openapi.json) and the console."""
    import uvicorn

    from opdomain.catalog.ingest import sweep_interrupted
    from opdomain.web.app import create_app

    rt = _runtime(home)
    sweep_interrupted(rt)
    out.print(f"opdomain console: http://{host}:{port}/   API: http://{host}:{port}/api/v1")
    uvicorn.run(create_app(rt), host=host, port=port, log_level="warning")


@dataset_app.command("import")
def dataset_import(
    descriptor: Annotated[Path, typer.Argument(help="the dataset's .resource.json descriptor")],
    as_user: AsOpt,
    file: Annotated[
        Path | None, typer.Option("--file", help="data file (CSV or Parquet) instead of the descriptor's path")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Validates and imports a provider's file as a new, encrypted dataset version."""
    from opdomain.catalog.ingest import import_dataset

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "dataset.import")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("import", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"{descriptor.name} · {stage}", completed=done, total=total)

            view = import_dataset(rt, principal, descriptor, data_file=file, progress=progress)
        out.print(
            f"[green]✓[/green] {view.dataset_name} v{view.version}: {view.rows_total} rows landed (import {view.id})"
        )
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@dataset_app.command("list")
def dataset_list(as_user: AsOpt, home: HomeOpt = None) -> None:
    """Lists datasets with their grades and versions."""
    from opdomain.catalog.service import list_datasets

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "catalog.read")
        t = Table("dataset", "department", "version", "rows", "columns (grade)", "forbidden")
        for d in list_datasets(rt, principal):
            t.add_row(
                d.name,
                d.department_name,
                str(d.current_version or "-"),
                str(d.rows or "-"),
                ", ".join(f"{c.name}({c.grade})" for c in d.columns),
                d.forbidden_category or "",
            )
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@dataset_app.command("forbid")
def dataset_forbid(
    name: str,
    as_user: AsOpt,
    category: Annotated[
        str, typer.Option(help="national_security|public_interest|personal_or_trade_secret|agreement|law")
    ],
    reason: Annotated[str, typer.Option()],
    home: HomeOpt = None,
) -> None:
    """Marks a dataset forbidden to open (禁止开放, R1.1c)."""
    from opdomain.catalog.service import mark_forbidden

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "dataset.forbid")
        mark_forbidden(rt, principal, name, category=category, reason=reason)
        out.print(f"[green]✓[/green] {name} marked forbidden to open ({category})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@dataset_app.command("imports")
def dataset_imports(as_user: AsOpt, home: HomeOpt = None, show: Annotated[str | None, typer.Option()] = None) -> None:
    """Lists imports, or shows one import's quality report (--show ID)."""
    from opdomain.catalog.service import get_import, list_imports

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "imports.read")
        if show:
            out.print_json(json.dumps(get_import(rt, principal, show).report, ensure_ascii=False))
            return
        t = Table("import", "dataset", "status", "rows", "bad rows", "version", "by", "started")
        for i in list_imports(rt, principal):
            t.add_row(
                i.id,
                i.dataset_name,
                i.status,
                str(i.rows_total),
                str(i.rows_bad),
                str(i.version or "-"),
                i.actor,
                i.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@audit_app.command("verify")
def audit_verify(home: HomeOpt = None) -> None:
    """Walks the hash chain and the signed checkpoints; exits 1 naming the first bad record."""
    from opdomain.audit.verify import verify_chain

    rt = _runtime(home)
    try:
        result = verify_chain(rt.store, rt.audit.signer.public_key())
    finally:
        rt.close()
    if result.ok:
        out.print(
            f"[green]✓[/green] audit log intact: {result.records} records, {result.checkpoints} signed checkpoints"
        )
        return
    err.print(
        f"[red]✗ 审计日志被篡改 audit log tampered[/red]: first bad record {result.first_bad_seq}: {result.problem}"
    )
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint(home: HomeOpt = None) -> None:
    """Signs the current head of the chain now."""
    rt = _runtime(home)
    try:
        seq = rt.audit.checkpoint_now()
    finally:
        rt.close()
    out.print(f"checkpoint at record {seq}" if seq else "nothing new to sign")


@audit_app.command("list")
def audit_list(
    as_user: AsOpt,
    home: HomeOpt = None,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
) -> None:
    """Shows the newest audit records (auditors, authority)."""
    from opdomain.audit.query import AuditFilter, search

    rt = _runtime(home)
    try:
        _acting(rt, as_user, "audit.read")
        t = Table("seq", "time", "actor", "role", "action", "object", "outcome", "reason")
        for r in search(rt.store, AuditFilter(action=action, actor=actor, outcome=outcome, limit=limit)):
            t.add_row(
                str(r.seq),
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                r.actor,
                r.role,
                r.action,
                f"{r.object_type}:{r.object_id}",
                r.outcome,
                r.reason,
            )
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@scenario_app.command("generate")
def scenario_generate(
    out_dir: Annotated[Path, typer.Option("--out")], enterprises: int = 1290, seed: int = 2023
) -> None:
    """Writes the eight departments' tables (CSV, Parquet) and descriptors of 泵阀共富贷."""
    from opdomain.scenarios.generate import generate

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("generate", total=None)

        def progress(table: str, done: int, total: int) -> None:
            bar.update(task, description=table, completed=done, total=total)

        paths = generate(out_dir, enterprises=enterprises, seed=seed, progress=progress)
    out.print(f"[green]✓[/green] {len(paths)} tables for {enterprises} enterprises in {out_dir}")


@org_app.command("create")
def org_create(kind: str, code: str, name: str, as_user: AsOpt, home: HomeOpt = None, government: str = "") -> None:
    """Creates an organization (authority admins)."""
    from opdomain.identity.service import create_organization

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "org.manage")
        create_organization(rt, principal, kind=kind, code=code, name=name, government=government)
        out.print(f"[green]✓[/green] organization {code} created")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@user_app.command("create")
def user_create(
    username: str,
    role: str,
    organization: str,
    real_name: str,
    resident_id: str,
    phone: str,
    as_user: AsOpt,
    home: HomeOpt = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Creates a real-name user (authority admins)."""
    from opdomain.identity.service import create_user

    rt = _runtime(home)
    try:
        principal = _acting(rt, as_user, "user.manage")
        create_user(
            rt,
            principal,
            username=username,
            password=password,
            real_name=real_name,
            resident_id=resident_id,
            phone=phone,
            role=role,
            organization_code=organization,
        )
        out.print(f"[green]✓[/green] user {username} ({role}) created")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@app.command()
def demo(
    home: Annotated[Path, typer.Option("--home", envvar="OPDOMAIN_HOME")] = Path(".opdomain-demo"),
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    enterprises: int = 1290,
    seed: int = 2023,
) -> None:
    """Builds a fresh demo domain with the 泵阀共富贷 scenario and prints who can log in."""
    from opdomain.demo import run_demo

    try:
        rt = run_demo(home, enterprises=enterprises, seed=seed, console=out)
    except DomainError as exc:
        _fail(exc)
        return
    if not serve_after:
        rt.close()
        return
    import uvicorn

    from opdomain.web.app import create_app

    out.print(f"\n[bold]控制台 console:[/bold] http://{host}:{port}/   (Ctrl-C to stop)")
    uvicorn.run(create_app(rt), host=host, port=port, log_level="warning")


from opdomain.compute.cli import consent_app, devdata_app, grant_app, query_cmd  # noqa: E402

app.add_typer(grant_app, name="grant")
app.add_typer(consent_app, name="consent")
app.add_typer(devdata_app, name="devdata")
app.command("query")(query_cmd)

from opdomain.lifecycle.cli import agreement_app, lifecycle_app, people_app  # noqa: E402

app.add_typer(agreement_app, name="agreement")
app.add_typer(lifecycle_app, name="lifecycle")
app.add_typer(people_app, name="people")

from opdomain.egress.cli import airlock_app, download, job_app, release_app, trace, verify, worker  # noqa: E402

app.add_typer(job_app, name="job")
app.add_typer(airlock_app, name="airlock")
app.add_typer(release_app, name="release")
app.command("worker")(worker)
app.command("download")(download)
app.command("verify")(verify)
app.command("trace")(trace)


def main() -> None:  # pragma: no cover
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # python -m opdomain.cli
    main()
