"""CLI of jobs, the airlock and products: ``opdomain worker``, ``job …``, ``airlock …``, ``release …``,
``download``, ``verify``, ``trace``.

Thin: every command acts as a named person (``--as USER``) through the same services and permission
checks as the API; ``worker`` is the domain's own process (it acts as ``system``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opdomain.cli_common import AsOpt, HomeOpt, err, out
from opdomain.cli_common import fail as _fail
from opdomain.errors import DomainError

job_app = typer.Typer(help="作业 jobs: submit, list, show, cancel", no_args_is_help=True)
airlock_app = typer.Typer(help="出域审核 airlock: requests, files, votes, decisions", no_args_is_help=True)
release_app = typer.Typer(help="发布 releases: release, list, verify, lineage", no_args_is_help=True)


def _rt(home: Path | None):  # type: ignore[no-untyped-def]
    from opdomain.cli_common import open_domain

    return open_domain(home)


def _who(rt, username: str):  # type: ignore[no-untyped-def]
    from opdomain.identity.service import principal_for

    return principal_for(rt, username)




def worker(home: HomeOpt = None, once: Annotated[bool, typer.Option("--once", help="stop when the queue is empty")]
           = False, poll: float = 2.0) -> None:
    """Runs queued jobs (作业执行器): FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite."""
    from opdomain.compute.worker import run_worker

    rt = _rt(home)
    try:
        n = run_worker(rt, once=once, poll_seconds=poll,
                       on_job=lambda j: out.print(f"job {j.id} {j.name}: {j.status} {j.error_code}"))
        out.print(f"[green]✓[/green] {n} jobs run")
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


@job_app.command("submit")
def job_submit(grant_id: str, definition: Annotated[Path, typer.Argument(help="job definition (JSON)")],
               as_user: AsOpt, home: HomeOpt = None, environment: str = "dev",
               script: Annotated[list[Path] | None, typer.Option("--script", help="add a script file")] = None) -> None:
    """Queues a job on dev data (``--environment dev``) or real data (``domain``)."""
    from opdomain.compute.jobs import submit_job

    rt = _rt(home)
    try:
        body = json.loads(definition.read_text(encoding="utf-8"))
        for p in script or []:
            body.setdefault("files", {})[p.name] = p.read_text(encoding="utf-8")
        job = submit_job(rt, _who(rt, as_user), grant_id, body, environment)
        out.print(f"[green]✓[/green] job {job.id} queued ({environment}), code {job.code_digest}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@job_app.command("list")
def job_list(grant_id: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    from opdomain.compute.jobs import list_jobs

    rt = _rt(home)
    try:
        t = Table("job", "name", "env", "status", "error", "submitted by", "code")
        for j in list_jobs(rt, _who(rt, as_user), grant_id):
            t.add_row(j.id, j.name, j.environment, j.status, j.error_code, j.submitted_by, j.code_digest[:12])
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@job_app.command("show")
def job_show(job_id: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """Status, log (never a data value) and outputs (names, labels, digests)."""
    from opdomain.compute.jobs import get_job

    rt = _rt(home)
    try:
        out.print_json(json.dumps(get_job(rt, _who(rt, as_user), job_id).to_dict(), ensure_ascii=False))
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@job_app.command("cancel")
def job_cancel(job_id: str, as_user: AsOpt, home: HomeOpt = None, reason: str = "") -> None:
    from opdomain.compute.jobs import cancel_job

    rt = _rt(home)
    try:
        j = cancel_job(rt, _who(rt, as_user), job_id, reason=reason)
        out.print(f"job {j.id}: {j.status}{' (cancel requested)' if j.cancel_requested else ''}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@airlock_app.command("create")
def airlock_create(grant_id: str, title: str, recipient: str, as_user: AsOpt, home: HomeOpt = None,
                   product: str = "", product_type: str = "data_package") -> None:
    from opdomain.egress import airlock

    rt = _rt(home)
    try:
        r = airlock.create_request(rt, _who(rt, as_user), grant_id, title=title, recipient=recipient,
                                   product_name=product or title, product_type=product_type)
        out.print(f"[green]✓[/green] release request {r['id']} ({r['status']})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@airlock_app.command("add")
def airlock_add(request_id: str, job_id: str, output: str, as_user: AsOpt,
                context: Annotated[str, typer.Option()], controls: Annotated[str, typer.Option()],
                home: HomeOpt = None) -> None:
    """Adds a releasable output (frozen by digest, checked at once)."""
    from opdomain.egress import airlock

    rt = _rt(home)
    try:
        r = airlock.add_file(rt, _who(rt, as_user), request_id, job_id=job_id, output=output, context=context,
                             controls=controls)
        for f in r["files"]:
            codes = ", ".join(x["code"] for x in f["findings"] if x["outcome"] != "pass")
            out.print(f"{f['name']}: {f['outcome']}  {codes}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def _simple(action: str):  # type: ignore[no-untyped-def]
    def command(request_id: str, as_user: AsOpt, home: HomeOpt = None, reason: str = "") -> None:
        from opdomain.egress import airlock

        rt = _rt(home)
        try:
            who = _who(rt, as_user)
            r = {"submit": lambda: airlock.submit_request(rt, who, request_id),
                 "withdraw": lambda: airlock.withdraw_request(rt, who, request_id, reason=reason),
                 "review": lambda: airlock.submit_review(rt, who, request_id),
                 "approve": lambda: airlock.decide(rt, who, request_id, "approve", reason=reason),
                 "return": lambda: airlock.decide(rt, who, request_id, "return", reason=reason),
                 "reject": lambda: airlock.decide(rt, who, request_id, "reject", reason=reason)}[action]()
            out.print(f"release request {request_id}: {r['status']} (round {r['round']})")
        except DomainError as exc:
            _fail(exc)
        finally:
            rt.close()

    command.__doc__ = f"{action} a release request"
    return command


for _action in ("submit", "withdraw", "review", "approve", "return", "reject"):
    airlock_app.command(_action)(_simple(_action))


@airlock_app.command("vote")
def airlock_vote(request_id: str, file: str, vote: str, as_user: AsOpt, home: HomeOpt = None,
                 comment: str = "") -> None:
    """approve | changes, per file, bound to the file's digest."""
    from opdomain.egress import airlock

    rt = _rt(home)
    try:
        airlock.vote(rt, _who(rt, as_user), request_id, file, vote, comment=comment)
        out.print(f"vote recorded: {file} {vote}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@airlock_app.command("show")
def airlock_show(request_id: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    from opdomain.egress import airlock

    rt = _rt(home)
    try:
        out.print_json(json.dumps(airlock.get_request(rt, _who(rt, as_user), request_id), ensure_ascii=False))
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@release_app.command("create")
def release_create(request_id: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """Releases an approved request: signed manifest, product version."""
    from opdomain.products.service import release_request

    rt = _rt(home)
    try:
        r = release_request(rt, _who(rt, as_user), request_id)
        out.print(f"[green]✓[/green] release {r.id}: {r.product_name} v{r.version} → {r.recipient}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@release_app.command("list")
def release_list(as_user: AsOpt, home: HomeOpt = None) -> None:
    from opdomain.products.service import list_releases

    rt = _rt(home)
    try:
        t = Table("release", "product", "version", "recipient", "status", "released")
        for r in list_releases(rt, _who(rt, as_user)):
            t.add_row(r.id, r.product_name, str(r.version), r.recipient, r.status, r.released_at[:19])
        out.print(t)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@release_app.command("lineage")
def release_lineage(release_id: str, as_user: AsOpt, home: HomeOpt = None,
                    fmt: Annotated[str, typer.Option("--format", help="mermaid | svg | json")] = "mermaid") -> None:
    """The lineage of a release, from OpenLineage events: mermaid, SVG or the raw events."""
    from opdomain.egress import lineage
    from opdomain.identity.service import authorize

    rt = _rt(home)
    try:
        authorize(rt, _who(rt, as_user), "lineage.read", object_type="release", object_id=release_id)
        g = lineage.graph(rt, release_id)
        text = {"mermaid": lambda: lineage.mermaid(g), "svg": lambda: lineage.svg(g),
                "json": lambda: json.dumps(lineage.events(rt, release_id), ensure_ascii=False, indent=2)}[fmt]()
        print(text)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def download(release_id: str, file: str, as_user: AsOpt, home: HomeOpt = None,
             to: Annotated[Path | None, typer.Option("--to")] = None) -> None:
    """Downloads one file of a release, watermarked for you (the recipient only)."""
    from opdomain.products.service import download as get

    rt = _rt(home)
    try:
        data, info = get(rt, _who(rt, as_user), release_id, file)
        target = to or Path(file)
        target.write_bytes(data)
        out.print(f"[green]✓[/green] {target} ({len(data)} bytes, sha256 {info['sha256'][:16]}…, "
                  f"watermarked for {info['recipient_id']})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def verify(target: Annotated[str, typer.Argument(help="a release id, or a release folder with manifest.json")],
           home: HomeOpt = None, as_user: AsOpt = "") -> None:
    """Verifies a release's manifest signature and every file's digests; exits 1 naming what changed."""
    from opdomain.products.service import verify_release, verify_release_folder

    rt = _rt(home)
    try:
        if Path(target).is_dir():
            problems = verify_release_folder(rt, Path(target))
        else:
            problems = verify_release(rt, _who(rt, as_user), target)["problems"]
    except DomainError as exc:
        _fail(exc)
        return
    finally:
        rt.close()
    if problems:
        err.print("[red]✗ 发布已被篡改 release altered[/red]")
        for p in problems:
            err.print(f"  {p}")
        raise typer.Exit(code=1)
    out.print("[green]✓[/green] 清单签名与文件摘要一致 manifest signature and file digests verified")


def trace(file: Annotated[Path, typer.Argument(help="a suspect copy (CSV or Parquet)")], as_user: AsOpt,
          home: HomeOpt = None) -> None:
    """Names the release and recipient a (leaked) file comes from (监管溯源)."""
    from opdomain.products.service import trace as find

    rt = _rt(home)
    try:
        result = find(rt, _who(rt, as_user), file.read_bytes(), file.name)
    except DomainError as exc:
        _fail(exc)
        return
    finally:
        rt.close()
    found = result["attributed"]
    if not found:
        err.print(f"[yellow]未能归属 not attributed[/yellow] ({result['candidates']} candidates tried)")
        raise typer.Exit(code=1)
    out.print(f"release {found['release_id']}  recipient {found['recipient_id']}  "
              f"(p = {found.get('false_positive_probability', 0):.3g}, {found.get('by', 'watermark')})")
