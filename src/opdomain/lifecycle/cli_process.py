"""CLI of the process steps that carry rich input: ``opdomain lifecycle announce|apply|material|score|
objection|request-data|review-data`` and ``opdomain people …`` (safe people, 安全人员).

Thin, like :mod:`opdomain.lifecycle.cli`: each command acts ``--as`` a named person through the same
permission the API route uses (:mod:`opdomain.lifecycle.api_process`), calls one service function and
prints its result; refusals print both languages and exit non-zero (and the service audits them).
Structured input (an application, a data request) is read from a JSON file shaped like the API body.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from opdomain.errors import DomainError, InvalidInput, Message
from opdomain.lifecycle.cli import AsOpt, HomeOpt, _acting, _fail, _runtime, err, lifecycle_app, out

material_app = typer.Typer(help="申请材料 application materials", no_args_is_help=True)
objection_app = typer.Typer(help="公示异议 objections during publicity", no_args_is_help=True)
people_app = typer.Typer(help="安全人员 safe people: exam, confidentiality, real name, status, leaving",
                         no_args_is_help=True)
lifecycle_app.add_typer(material_app, name="material")
lifecycle_app.add_typer(objection_app, name="objection")

BAD_DATE = Message("日期格式应为 YYYY-MM-DD：{name} = {value}", "a date is YYYY-MM-DD: {name} = {value}")
BAD_FILE = Message("无法读取 JSON 文件 {path}：{problem}", "cannot read the JSON file {path}: {problem}")
BAD_BODY = Message("文件 {path} 的内容不符合要求：{problem}", "the content of {path} is not valid: {problem}")
NO_FILE = Message("文件不存在：{path}", "no such file: {path}")
ONE_DECISION = Message("须且只能选择 --approve 或 --reject 之一", "choose exactly one of --approve or --reject")
REJECT_REASON = Message("驳回须写明理由（--reason）", "a rejection needs its reason (--reason)")
BAD_ANSWERS = Message("答案格式应为 1,0,2… 或 题号:选项,…（选项从 0 起）：{value}",
                      "answers are 1,0,2,… or ID:CHOICE,… (choices count from 0): {value}")
NO_SCORES = Message("未声明回避时须给出 --security、--credit、--technical 三项评分",
                    "without --conflict give all three scores: --security, --credit, --technical")


def _input_error(code: str, message: Message) -> NoReturn:
    """Refuses bad command-line input like any other refusal: both languages, exit 2."""
    _fail(InvalidInput(code, message))
    raise typer.Exit(2)  # _fail has exited already


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _input_error("cli.bad_date", BAD_DATE.format(name=name, value=value))


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        _input_error("cli.no_file", NO_FILE.format(path=path))
    return path.read_bytes()


def _read_text(path: Path) -> str:
    try:
        return _read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _input_error("cli.bad_text", BAD_FILE.format(path=path, problem=str(exc)))


def _read_json(path: Path) -> Any:
    raw = _read_bytes(path)
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _input_error("cli.bad_json", BAD_FILE.format(path=path, problem=str(exc)))


def _body(model: Any, data: Any, path: Path) -> Any:
    """Validates ``data`` with the API's own body model, so the file and the API accept the same."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        _input_error("cli.bad_body", BAD_BODY.format(path=path, problem=problem))


def _done(text: str) -> None:
    out.print(f"[green]✓[/green] {text}", highlight=False)


# --- 1. announcement, 2. application ---------------------------------------------------------------


@lifecycle_app.command("announce")
def announce_cmd(title: Annotated[str, typer.Option(help="公告标题 title")],
                 domain_area: Annotated[list[str], typer.Option(help="授权运营领域 domain area (repeat)")],
                 opens: Annotated[str, typer.Option(help="申报期开始 YYYY-MM-DD")],
                 closes: Annotated[str, typer.Option(help="申报期截止 YYYY-MM-DD")],
                 as_user: AsOpt,
                 conditions: Annotated[str, typer.Option(help="申报条件 conditions")] = "",
                 home: HomeOpt = None) -> None:
    """发布公告 (R3.1): an announcement with its domain areas and application window."""
    from opdomain.lifecycle.applications import create_announcement

    opens_on, closes_on = _date(opens, "--opens"), _date(closes, "--closes")
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "announcement.manage")
        a = create_announcement(rt, p, title=title, domain_areas=domain_area, conditions=conditions,
                                opens_on=opens_on, closes_on=closes_on)
        _done(f"announcement {a['id']}: {a['title']} ({', '.join(a['domain_areas'])}) "
              f"{a['opens_on']} – {a['closes_on']}")
        out.print(a["id"], highlight=False)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("apply")
def apply_cmd(announcement: Annotated[str, typer.Option(help="公告 ID announcement id")],
              file: Annotated[Path, typer.Option(help="application.json: the API body (scenarios, requirements "
                                                      "with a purpose per column, starts_on, ends_on, …)")],
              as_user: AsOpt, home: HomeOpt = None) -> None:
    """提交申请 (R3.2): a draft application of the operator, from a JSON file shaped like
    ``POST /api/v1/applications`` (``announcement_id`` comes from --announcement)."""
    from opdomain.lifecycle.api_process import ApplicationIn
    from opdomain.lifecycle.applications import create_application

    data = _read_json(file)
    if isinstance(data, dict):
        data = {**data, "announcement_id": announcement}
    body = _body(ApplicationIn, data, file)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "application.apply")
        view = create_application(rt, p, **body.model_dump())
        _done(f"application {view.id} ({view.state}): {', '.join(s['name'] for s in view.scenarios)}; "
              f"{view.starts_on} – {view.ends_on}; datasets {', '.join(view.scope)}")
        out.print(view.id, highlight=False)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@material_app.command("add")
def material_add_cmd(application_id: str, file: Path,
                     kind: Annotated[str, typer.Option(help="材料类型 material kind")],
                     as_user: AsOpt, home: HomeOpt = None) -> None:
    """Adds one material to a draft (or a requested correction); prints its SHA-256 and SM3."""
    from opdomain.lifecycle.applications import add_material, sm3_hex

    data = _read_bytes(file)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "application.apply")
        view = add_material(rt, p, application_id, kind=kind, filename=file.name, data=data)
        sm3 = sm3_hex(data)
        stored = next((m for m in reversed(view.materials) if m["sm3"] == sm3), None)
        _done(f"{application_id}: material {kind} {file.name} ({len(data)} bytes); "
              f"missing: {', '.join(k for k in _missing(view)) or '-'}")
        out.print(f"SHA-256 {stored['sha256'] if stored else '-'}\nSM3     {sm3}", highlight=False)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


def _missing(view: Any) -> list[str]:
    from opdomain.lifecycle.policy_process import REQUIRED_MATERIALS

    present = {m["kind"] for m in view.materials}
    return [k for k in [*REQUIRED_MATERIALS, *(view.notice_missing or [])] if k not in present]


# --- 4. expert review ----------------------------------------------------------------------------


@lifecycle_app.command("score")
def score_cmd(application_id: str, as_user: AsOpt,
              security: Annotated[int | None, typer.Option(help="安全保障能力 0–100")] = None,
              credit: Annotated[int | None, typer.Option(help="信用 0–100")] = None,
              technical: Annotated[int | None, typer.Option(help="技术实力 0–100")] = None,
              opinion: Annotated[str, typer.Option(help="书面意见 written opinion")] = "",
              conflict: Annotated[str | None, typer.Option(help="declare a conflict of interest (回避) with this "
                                                                "note; no scores then")] = None,
              home: HomeOpt = None) -> None:
    """专家审查 (R3.4): one assigned expert's scores and opinion, or a declared conflict (recusal)."""
    from opdomain.lifecycle.applications import submit_expert_review

    scores = {k: v for k, v in (("security", security), ("credit", credit), ("technical", technical))
              if v is not None}
    if conflict is None and len(scores) != 3:
        _input_error("cli.scores_required", NO_SCORES)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "application.expert_review")
        view = submit_expert_review(rt, p, application_id, scores=scores, opinion=opinion,
                                    conflict=conflict is not None, conflict_note=conflict or "")
        mine = next((e for e in view.experts if e["expert"] == p.username), {"status": "?"})
        _done(f"{application_id}: review by {p.username} {mine['status']}"
              + (f" {json.dumps(scores)}" if conflict is None else " (回避 recused)"))
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


# --- 6. publicity: objections ------------------------------------------------------------------


@objection_app.command("file")
def objection_file_cmd(application_id: str,
                       text: Annotated[str, typer.Option(help="异议内容 the objection")],
                       name: Annotated[str, typer.Option(help="异议人 who objects")] = "匿名 anonymous",
                       home: HomeOpt = None) -> None:
    """Anyone may object during publicity (公示期); needs no account."""
    from opdomain.lifecycle.applications import file_objection

    rt = _runtime(home)
    try:
        oid = file_objection(rt, application_id, objector=name, text=text)
        _done(f"objection {oid} filed on {application_id}; the authority must answer it")
        out.print(oid, highlight=False)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@objection_app.command("answer")
def objection_answer_cmd(objection_id: str,
                         answer: Annotated[str, typer.Option(help="答复 the answer")],
                         as_user: AsOpt, home: HomeOpt = None) -> None:
    """The authority answers an objection."""
    from opdomain.lifecycle.applications import answer_objection

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "application.review")
        view = answer_objection(rt, p, objection_id, answer=answer)
        _done(f"objection {objection_id} answered ({view.id}: {view.state})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


# --- 8. agreement: the emergency plan ------------------------------------------------------------


@lifecycle_app.command("emergency-plan")
def emergency_plan_cmd(application_id: str,
                       title: Annotated[str, typer.Option(help="预案标题 title")],
                       file: Annotated[Path, typer.Option(help="应急预案 the plan's text file")],
                       as_user: AsOpt, home: HomeOpt = None) -> None:
    """应急预案 (R6.2b): files the grant's emergency plan (needed before activation)."""
    from opdomain.lifecycle.applications import file_emergency_plan

    text = _read_text(file)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "emergency_plan.manage")
        view = file_emergency_plan(rt, p, application_id, title=title, text=text)
        _done(f"{application_id}: emergency plan filed ({view.state})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


# --- data requests (R4.2a) ---------------------------------------------------------------------


@lifecycle_app.command("request-data")
def request_data_cmd(grant_id: str,
                     file: Annotated[Path, typer.Option(help="columns.json: {\"dataset\": …, \"columns\": "
                                                             "{column: purpose}} (or just the columns with "
                                                             "--dataset)")],
                     as_user: AsOpt,
                     dataset: Annotated[str | None, typer.Option(help="the dataset, when the file holds only "
                                                                      "the columns")] = None,
                     home: HomeOpt = None) -> None:
    """数据需求申请 (R4.2a): columns of one dataset, each with its purpose, within the agreement's scope."""
    from opdomain.lifecycle.api_process import DataRequestIn
    from opdomain.lifecycle.data_requests import request_data

    data = _read_json(file)
    if dataset is not None and isinstance(data, dict) and "columns" not in data:
        data = {"dataset": dataset, "columns": data}
    elif dataset is not None and isinstance(data, dict):
        data = {**data, "dataset": dataset}
    body = _body(DataRequestIn, data, file)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "data_request.create")
        r = request_data(rt, p, grant_id, dataset=body.dataset, columns=body.columns)
        _done(f"data request {r.id} ({r.status}): {r.dataset} {', '.join(r.columns)}")
        out.print(r.id, highlight=False)
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@lifecycle_app.command("review-data")
def review_data_cmd(request_id: str, as_user: AsOpt,
                    approve: Annotated[bool, typer.Option("--approve", help="approve (all, or --columns)")] = False,
                    reject: Annotated[bool, typer.Option("--reject", help="reject the whole request")] = False,
                    columns: Annotated[str | None, typer.Option(help="approve only these, a,b,c")] = None,
                    reason: Annotated[str, typer.Option(help="审核意见 the note / reason")] = "",
                    home: HomeOpt = None) -> None:
    """The dataset's own department approves all, some (--columns) or none (--reject) of the columns."""
    from opdomain.lifecycle.data_requests import review_data_request
    from opdomain.lifecycle.models_process import DataRequest

    if approve == reject:
        _input_error("cli.one_decision", ONE_DECISION)
    if reject and not reason.strip():
        _input_error("cli.reason_required", REJECT_REASON)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "data_request.review")
        chosen: list[str] = []
        if approve and columns:
            chosen = [c.strip() for c in columns.split(",") if c.strip()]
        elif approve:  # all requested columns; the service checks the department before anything opens
            with rt.store.session() as s:
                row = s.get(DataRequest, request_id)
                chosen = list(json.loads(row.columns)) if row is not None else []
        r = review_data_request(rt, p, request_id, approve=chosen, note=reason)
        _done(f"data request {r.id} {r.status}: {', '.join(r.approved) or '-'} (grant {r.grant_id})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


# --- safe people (R4.1, R4.4b) -------------------------------------------------------------------


def _parse_answers(value: str, paper: list[dict[str, Any]]) -> dict[int, int]:
    """``1,0,2`` answers the paper in order (questions by id); ``7:1,9:0`` names the questions."""
    parts = [x.strip() for x in value.split(",") if x.strip()]
    try:
        if parts and all(":" in x for x in parts):
            return {int(q): int(a) for q, a in (x.split(":", 1) for x in parts)}
        if len(parts) != len(paper):
            raise ValueError
        return {q["id"]: int(a) for q, a in zip(paper, parts, strict=True)}
    except ValueError:
        _input_error("cli.bad_answers", BAD_ANSWERS.format(value=value))


@people_app.command("exam")
def exam_cmd(as_user: AsOpt,
             answers: Annotated[str | None, typer.Option(help="non-interactive: 1,0,2,… in the order printed "
                                                              "(choices from 0), or ID:CHOICE,…")] = None,
             seed: Annotated[int | None, typer.Option(help="draw the same paper again")] = None,
             home: HomeOpt = None) -> None:
    """培训考核 (R4.1): prints the paper, reads the answers (or takes --answers), records the result."""
    from opdomain.lifecycle.people import exam_paper, take_exam

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "exam.take")
        paper = sorted(exam_paper(rt, p, seed=seed), key=lambda q: q["id"])
        for n, q in enumerate(paper, 1):
            out.print(f"\n{n}. [{q['id']}] {q['text']}", highlight=False, markup=False)
            for i, choice in enumerate(q["choices"]):
                out.print(f"   {i}) {choice}", highlight=False, markup=False)
        if answers is not None:
            given = _parse_answers(answers, paper)
        else:
            given = {q["id"]: typer.prompt(f"{n}. 答案 answer", type=int) for n, q in enumerate(paper, 1)}
        r = take_exam(rt, p, given)
        _done(f"考核通过 exam passed: {r['score']}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@people_app.command("sign-confidentiality")
def sign_confidentiality_cmd(document: Annotated[Path, typer.Option(help="保密协议 the agreement's text file")],
                             as_user: AsOpt, home: HomeOpt = None) -> None:
    """保密协议 (R4.4b): the acting person signs the agreement's text; its SHA-256 is kept."""
    from opdomain.lifecycle.people import sign_confidentiality

    text = _read_text(document)
    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "confidentiality.sign")
        r = sign_confidentiality(rt, p, document=text)
        _done(f"{p.username} signed the confidentiality agreement (SHA-256 {r['sha256']})")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@people_app.command("status")
def status_cmd(username: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """One person's safe-people record and whether the workspace would open for them."""
    from opdomain.lifecycle.people import staff_status

    rt = _runtime(home)
    try:
        # as the API: staff/me for oneself, staff/{username} (staff.read) for anyone else
        p = _acting(rt, as_user, "notification.read" if username == as_user else "staff.read")
        st = staff_status(rt, p, username)
        t = Table("", "")
        for key in ("real_name_verified_on", "exam_passed_on", "exam_score", "exam_valid_until",
                    "confidentiality_signed_on", "left_on"):
            t.add_row(key, str(st[key] if st[key] is not None else "-"))
        out.print(t)
        if st["cleared"]:
            _done(f"{username}: 可进入运营域 cleared for the workspace")
        else:
            err.print(f"[yellow]✗ {username}: {st['problem']['message']}[/yellow]\n  {st['problem']['message_en']}"
                      f"  [dim]({st['problem']['code']})[/dim]")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@people_app.command("verify-real-name")
def verify_real_name_cmd(username: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """实名认证 (R4.4b): the authority confirms the person's identity."""
    from opdomain.lifecycle.people import verify_real_name

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "user.manage")
        verify_real_name(rt, p, username)
        _done(f"{username}: 实名认证 real name verified by {p.username}")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()


@people_app.command("leave")
def leave_cmd(username: str, as_user: AsOpt, home: HomeOpt = None) -> None:
    """The person leaves the operator: workspace access ends now (R4.4b)."""
    from opdomain.lifecycle.people import record_departure

    rt = _runtime(home)
    try:
        p = _acting(rt, as_user, "staff.manage")
        record_departure(rt, p, username)
        _done(f"{username}: 离职 left; workspace access ended")
    except DomainError as exc:
        _fail(exc)
    finally:
        rt.close()
