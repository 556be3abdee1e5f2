"""Pure rules of jobs (作业): the definition's shape and the job state machine, as data.

Rules 四.(四) R4.4a/R4.4c/R4.4d: a job is developed on dev data and runs, as exactly the same definition
(same code digest), on real data inside the domain; every output is labelled ``internal`` (never
released) or ``releasable`` (may be put in a release request, then goes through the airlock).
No I/O here; ``check_*`` raise, ``can_*`` return a bool.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from opdomain.compute import jobs_messages as msg
from opdomain.errors import Conflict, InvalidInput

ACTION_TYPES = ("python", "sql")
LABELS = ("internal", "releasable")
OUTPUT_KINDS = ("table", "per_subject", "model", "report", "figure")
SQL_SUFFIXES = (".csv", ".parquet")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_ACTIONS = 20
MAX_SQL = 100_000
#: the limits an analyst may ask for, and their ceilings (SandboxLimits field → maximum)
LIMIT_CEILINGS = {"cpu_seconds": 600, "memory_mb": 4096, "wall_seconds": 900, "output_mb": 512, "processes": 64}


class JobStatus(StrEnum):
    """queued → running → succeeded | failed | cancelled (and queued → cancelled)."""

    QUEUED = "queued"  # 排队中
    RUNNING = "running"  # 运行中
    SUCCEEDED = "succeeded"  # 成功
    FAILED = "failed"  # 失败
    CANCELLED = "cancelled"  # 已取消


#: allowed transitions: (from, to) → the action's name (audit action ``job.<name>``)
TRANSITIONS: dict[tuple[JobStatus, JobStatus], str] = {
    (JobStatus.QUEUED, JobStatus.RUNNING): "start",
    (JobStatus.QUEUED, JobStatus.CANCELLED): "cancel",
    (JobStatus.RUNNING, JobStatus.SUCCEEDED): "succeed",
    (JobStatus.RUNNING, JobStatus.FAILED): "fail",
    (JobStatus.RUNNING, JobStatus.CANCELLED): "cancel",
}
FINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def check_transition(current: str, target: JobStatus) -> str:
    key = (JobStatus(current), target)
    if key not in TRANSITIONS:
        raise Conflict("job.bad_transition", msg.BAD_TRANSITION.format(current=current, action=target.value,
                                                                       action_en=target.value))
    return TRANSITIONS[key]


def mermaid() -> str:
    """The job state machine as a mermaid diagram, generated from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2", f"  [*] --> {JobStatus.QUEUED.value}"]
    lines += [f"  {a.value} --> {b.value}: {name}" for (a, b), name in TRANSITIONS.items()]
    lines += [f"  {s.value} --> [*]" for s in JobStatus if s in FINAL]
    return "\n".join(lines)


@dataclass(frozen=True)
class OutputSpec:
    name: str
    label: str
    kind: str

    @property
    def releasable(self) -> bool:
        return self.label == "releasable"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    type: str
    inputs: tuple[str, ...]
    outputs: tuple[OutputSpec, ...]
    script: str | None = None
    sql: str | None = None


@dataclass(frozen=True)
class JobDefinition:
    name: str
    actions: tuple[ActionSpec, ...]
    files: Mapping[str, str]
    limits: Mapping[str, int]

    def outputs(self) -> dict[str, tuple[ActionSpec, OutputSpec]]:
        return {o.name: (a, o) for a in self.actions for o in a.outputs}


def _bad(why: str) -> InvalidInput:
    return InvalidInput("job.bad_definition", msg.BAD_DEFINITION.format(why=why))


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise _bad(f"{what} {value!r}: letters, digits, _ . - only, at most 100")
    return value


def parse_definition(raw: Mapping[str, Any], granted: Iterable[str]) -> JobDefinition:
    """Validates a definition against the grant's datasets; raises ``job.bad_definition`` naming the problem."""
    if not isinstance(raw, Mapping):
        raise _bad("not an object")
    granted = tuple(granted)
    name = _name(raw.get("name"), "job name")
    files = raw.get("files") or {}
    if not isinstance(files, Mapping) or not all(isinstance(v, str) for v in files.values()):
        raise _bad("files must map script names to their source")
    for f in files:
        _name(f, "file")
    actions_raw = raw.get("actions")
    if not isinstance(actions_raw, list) or not 1 <= len(actions_raw) <= MAX_ACTIONS:
        raise _bad(f"actions: a list of 1 to {MAX_ACTIONS}")
    actions: list[ActionSpec] = []
    seen_outputs: set[str] = set()
    for a in actions_raw:
        if not isinstance(a, Mapping):
            raise _bad("an action must be an object")
        aname = _name(a.get("name"), "action")
        if any(x.name == aname for x in actions):
            raise _bad(f"action {aname} twice")
        atype = a.get("type")
        if atype not in ACTION_TYPES:
            raise _bad(f"action {aname}: type must be python or sql")
        inputs = tuple(a.get("inputs") or granted)
        for d in inputs:
            if d not in granted:
                raise InvalidInput("job.input_not_granted", msg.INPUT_NOT_GRANTED.format(dataset=d))
        outs: list[OutputSpec] = []
        for o in a.get("outputs") or []:
            if not isinstance(o, Mapping):
                raise _bad(f"action {aname}: an output must be an object")
            oname = _name(o.get("name"), "output")
            label = o.get("label", "internal")
            kind = o.get("kind", "table")
            if label not in LABELS:
                raise _bad(f"output {oname}: label must be internal or releasable")
            if kind not in OUTPUT_KINDS:
                raise _bad(f"output {oname}: kind must be one of {', '.join(OUTPUT_KINDS)}")
            if oname in seen_outputs:
                raise _bad(f"output {oname} declared twice")
            seen_outputs.add(oname)
            outs.append(OutputSpec(oname, label, kind))
        script = sql = None
        if atype == "python":
            script = a.get("script")
            if script not in files:
                raise _bad(f"action {aname}: script {script!r} is not among the files")
        else:
            sql = a.get("sql")
            if not isinstance(sql, str) or not sql.strip() or len(sql) > MAX_SQL:
                raise _bad(f"action {aname}: sql is required")
            if len(outs) != 1 or not outs[0].name.endswith(SQL_SUFFIXES):
                raise _bad(f"action {aname}: a SQL action has exactly one output, .csv or .parquet")
        actions.append(ActionSpec(aname, atype, inputs, tuple(outs), script, sql))
    limits = raw.get("limits") or {}
    if not isinstance(limits, Mapping):
        raise _bad("limits must be an object")
    for k, v in limits.items():
        if k not in LIMIT_CEILINGS or type(v) is not int or not 1 <= v <= LIMIT_CEILINGS[k]:
            raise _bad(f"limit {k}: an integer from 1 to {LIMIT_CEILINGS.get(k, '-')}")
    return JobDefinition(name, tuple(actions), dict(files), dict(limits))


def canonical(raw: Mapping[str, Any]) -> str:
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def code_digest(raw: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical definition, scripts included: the same code gives the same digest on dev
    data and on real data."""
    return hashlib.sha256(canonical(raw).encode()).hexdigest()


def check_same_organization(job_org: str, principal_org: str) -> None:
    from opdomain.errors import PermissionDenied

    if job_org != principal_org:
        raise PermissionDenied("job.other_organization", msg.NOT_YOUR_JOB)
