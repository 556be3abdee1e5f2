"""Running a job: claim it from the queue, materialise the grant's data, run each action, keep the outputs.

Rules 四.(四) R4.4a/R4.4c, 五.(一) R5.1a. How a job sees data (docs/jobs.md):

- **Inputs**: exactly the grant's visible columns of each dataset the action names, as plaintext Parquet
  in a per-job folder under ``work_dir``, deleted after the run — on real data the current versions
  (decrypted inside the domain), on dev data the grant's sampled, masked dev copy. Jobs compute over
  *all* subjects (a rating ranks every enterprise); consent filtering happens at egress, where only
  consenting subjects' rows of a per-subject output may leave (:mod:`opdomain.egress.airlock`).
- **Python actions** run in the sandbox (:func:`opdomain.compute.sandbox.run_python`): no network, only
  ``/in`` and ``/out``, limits. **SQL actions** run in the hardened engine
  (:func:`opdomain.compute.engine.open_engine`); the result table is written as CSV or Parquet.
- **Outputs**: only declared outputs are kept, encrypted with the job's own data key under
  ``data/jobs/<job id>/``; anything else the job wrote is discarded and named in the log.
- **Logs never hold a data value**: the platform writes its own lines (statuses, durations, names, sizes,
  digests); a script's own output is shown only for runs on dev data. On real data only its line count
  and, on failure, the exception's class name are kept.

Claiming: PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite ``BEGIN IMMEDIATE`` (the store's
default) so two workers never take the same job.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select

from opdomain.audit.log import SYSTEM
from opdomain.compute import jobs_messages as msg
from opdomain.compute.jobs import load_job, transition, view
from opdomain.compute.jobs_models import Job
from opdomain.compute.jobs_policy import ActionSpec, JobDefinition, JobStatus, parse_definition
from opdomain.errors import DomainError
from opdomain.lifecycle import policy as grant_rules
from opdomain.lifecycle.grants import GrantView, load_grant
from opdomain.runtime import Runtime
from opdomain.store import vault

MAX_SQL_ROWS = 2_000_000
_ERROR_CLASS = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit|gaierror|Interrupt))\b", re.M)


def key_context(job_id: str) -> str:
    return f"job:{job_id}:outputs"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next_job(rt: Runtime, worker: str | None = None) -> str | None:
    """Takes the oldest queued job (queued → running) and returns its id, or None."""
    with rt.store.session() as s:
        stmt = select(Job).where(Job.status == JobStatus.QUEUED.value).order_by(Job.submitted_at).limit(1)
        if not rt.store.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        job = s.scalars(stmt).first()
        if job is None:
            return None
        job.worker = (worker or worker_name())[:100]
        transition(rt, s, job, JobStatus.RUNNING, SYSTEM, details={"worker": job.worker,
                                                                    "submitted_by": job.submitted_by})
        return job.id


@dataclass
class _Run:
    job_id: str
    environment: str
    root: Path
    key: bytes
    lines: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)

    def log(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")


class _JobStopped(Exception):
    def __init__(self, status: JobStatus, code: str, reason: str) -> None:
        super().__init__(code)
        self.status, self.code, self.reason = status, code, reason


def _materialise(rt: Runtime, grant: GrantView, environment: str, folder: Path, run: _Run) -> None:
    """The grant's visible columns as Parquet files ``<dataset>.parquet`` (only the grant's columns)."""
    from opdomain.catalog.ingest import read_version
    from opdomain.catalog.service import current_file

    folder.mkdir(parents=True)
    if environment == "dev":
        from opdomain.compute.devdata import read_dev_tables

        build_id, tables = read_dev_tables(rt, grant.id)
        for d in grant.datasets:
            if d in tables:
                cols = [c for c in grant.columns_of(d, visible_only=True) if c in tables[d].column_names]
                pq.write_table(tables[d].select(cols), folder / f"{d}.parquet")
                run.inputs[d] = f"dev:{build_id}"
        return
    for d in grant.datasets:
        version = current_file(rt, d)[3]
        table = read_version(rt, d).select(list(grant.columns_of(d, visible_only=True)))
        pq.write_table(table, folder / f"{d}.parquet")
        run.inputs[d] = str(version)


def _action_inputs(all_in: Path, action: ActionSpec, target: Path) -> Path:
    target.mkdir(parents=True)
    for d in action.inputs:
        src = all_in / f"{d}.parquet"
        if src.exists():
            os.link(src, target / src.name)
    return target


def _python_action(rt: Runtime, spec: JobDefinition, action: ActionSpec, run: _Run, inputs: Path,
                   out: Path) -> dict[str, Path]:
    from opdomain.compute.sandbox import SandboxLimits, run_python

    code = run.root / "code" / action.name
    code.mkdir(parents=True)
    script = code / str(action.script)
    script.write_text(spec.files[str(action.script)], encoding="utf-8")
    limits = SandboxLimits(**spec.limits)  # type: ignore[arg-type]
    result = run_python(script, inputs_dir=inputs, output_dir=out, limits=limits)
    lines = result.log.count("\n") + (1 if result.log and not result.log.endswith("\n") else 0)
    if run.environment == "dev":
        run.log(f"[{action.name}] script output (dev data):\n{result.log.rstrip()}")
    else:
        run.log(f"[{action.name}] script output withheld on real data ({lines} lines) / 运营域内脚本输出不予显示")
    if result.rejected:
        run.log(f"[{action.name}] outputs refused by the sandbox: {', '.join(result.rejected)}")
    run.log(f"[{action.name}] python: {result.status}, exit {result.exit_code}, {result.wall_seconds:.1f} s")
    if result.status != "succeeded":
        found = _ERROR_CLASS.findall(result.log)
        cause = f"; {found[-1]}" if found and result.status == "failed" else ""
        code_ = "job.script_error" if result.status == "failed" else f"job.{result.status}"
        raise _JobStopped(JobStatus.FAILED, code_, f"{action.name}: {result.status}{cause}")
    return dict(result.outputs)


def _sql_action(action: ActionSpec, run: _Run, inputs: Path, out: Path, limits: dict[str, int]) -> dict[str, Path]:
    from opdomain.compute.engine import open_engine

    out.mkdir(parents=True, exist_ok=True)
    tables = {d: inputs / f"{d}.parquet" for d in action.inputs if (inputs / f"{d}.parquet").exists()}
    began = time.perf_counter()
    try:
        with open_engine(tables, memory_limit=f"{limits.get('memory_mb', 2048)}MB", threads=2,
                         timeout_s=float(limits.get("wall_seconds", 120))) as eng:
            columns, rows, truncated = eng.run(str(action.sql), MAX_SQL_ROWS, error_detail=run.environment == "dev")
    except DomainError as exc:
        detail = exc.message.en if run.environment == "dev" else exc.code
        raise _JobStopped(JobStatus.FAILED, "job.sql_refused", f"{action.name}: {detail}") from None
    if truncated:
        raise _JobStopped(JobStatus.FAILED, "job.output_too_large", f"{action.name}: more than {MAX_SQL_ROWS} rows")
    name = action.outputs[0].name
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}) if rows else \
        pa.table({c: pa.array([], pa.string()) for c in columns})
    if name.endswith(".parquet"):
        pq.write_table(table, out / name)
    else:
        pacsv.write_csv(table, out / name)
    run.log(f"[{action.name}] sql: {len(rows)} rows × {len(columns)} columns, {time.perf_counter() - began:.1f} s")
    return {name: out / name}


def _keep(rt: Runtime, run: _Run, action: ActionSpec, produced: dict[str, Path]) -> None:
    declared = {o.name: o for o in action.outputs}
    for name in sorted(set(produced) - set(declared)):
        run.log(f"[{action.name}] undeclared output discarded (never released): {name}")
    for name, o in declared.items():
        if name not in produced:
            raise _JobStopped(JobStatus.FAILED, "job.output_missing", msg.OUTPUT_MISSING.format(name=name).en)
        data = produced[name].read_bytes()
        rel = f"jobs/{run.job_id}/{hashlib.sha256(name.encode()).hexdigest()[:16]}.enc"
        target = rt.settings.data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        plain = produced[name]
        vault.encrypt_file(plain, target, run.key, rt.cipher)
        run.outputs[name] = {"action": action.name, "label": o.label, "kind": o.kind, "file": rel,
                             "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        run.log(f"[{action.name}] output {name} ({o.label}, {o.kind}): {len(data)} bytes, "
                f"sha256 {run.outputs[name]['sha256'][:12]}…")


def _cancel_requested(rt: Runtime, job_id: str) -> bool:
    with rt.store.session() as s:
        row = s.get(Job, job_id)
        return bool(row and row.cancel_requested)


def run_job(rt: Runtime, job_id: str, *, today: date | None = None) -> None:
    """Runs a claimed (running) job to its end; every ending is a transition, audited."""
    job = load_job(rt, job_id)
    root = rt.settings.work_dir / "jobs" / job_id
    run = _Run(job_id, job.environment, root, secrets.token_bytes(32))
    status, code, reason = JobStatus.SUCCEEDED, "", ""
    try:
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True, mode=0o700)
        grant = load_grant(rt, job.grant_id, today=today)
        effective = grant_rules.effective_status(grant.facts, today or date.today())
        if effective.value != "active":
            raise _JobStopped(JobStatus.FAILED, "job.grant_not_active",
                              msg.GRANT_NOT_ACTIVE.format(grant_id=grant.id, status=effective.value).en)
        spec = parse_definition(job.definition, grant.datasets)
        run.log(f"job {spec.name} on {'dev data' if job.environment == 'dev' else 'real data'}, "
                f"code {job.code_digest[:12]}…")
        _materialise(rt, grant, job.environment, root / "in", run)
        for action in spec.actions:
            if _cancel_requested(rt, job_id):
                raise _JobStopped(JobStatus.CANCELLED, "job.cancelled", "cancel requested")
            inputs = _action_inputs(root / "in", action, root / "actions" / action.name / "in")
            out = root / "actions" / action.name / "out"
            if action.type == "python":
                produced = _python_action(rt, spec, action, run, inputs, out)
            else:
                produced = _sql_action(action, run, inputs, out, dict(spec.limits))
            _keep(rt, run, action, produced)
        if _cancel_requested(rt, job_id):
            raise _JobStopped(JobStatus.CANCELLED, "job.cancelled", "cancel requested")
    except _JobStopped as stop:
        status, code, reason = stop.status, stop.code, stop.reason
    except DomainError as exc:
        status, code, reason = JobStatus.FAILED, exc.code, exc.message.en
    except Exception as exc:  # never a message: it could quote a value of the real data
        status, code, reason = JobStatus.FAILED, "job.internal_error", type(exc).__name__
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if status is not JobStatus.SUCCEEDED:
        run.log(f"job {status.value}: {code} {reason}")
        for o in run.outputs.values():  # nothing of a failed or cancelled job is kept
            (rt.settings.data_dir / o["file"]).unlink(missing_ok=True)
        run.outputs.clear()
    else:
        run.log(f"job succeeded: {len(run.outputs)} outputs")
    with rt.store.session() as s:
        row = s.get(Job, job_id)
        assert row is not None
        row.log = "\n".join(run.lines)[-60_000:]
        row.inputs = json.dumps(run.inputs, sort_keys=True)
        row.outputs = json.dumps(run.outputs, sort_keys=True)
        row.error_code = code
        if run.outputs:
            row.wrapped_key = vault.wrap_key(rt.master_key, run.key, key_context(job_id))
        transition(rt, s, row, status, SYSTEM, reason=code,
                   details={"inputs": run.inputs, "outputs": {n: {k: o[k] for k in ("label", "sha256", "size")}
                                                              for n, o in run.outputs.items()}, "cause": reason})
    rt.publish("job.finished", job_id=job_id, status=status.value)


def read_output(rt: Runtime, job_id: str, name: str) -> bytes:
    """The bytes of one output (inside the domain only: the airlock, and dev-data runs for the analyst)."""
    from opdomain.errors import NotFound

    with rt.store.session() as s:
        row = s.get(Job, job_id)
        if row is None:
            raise NotFound("job.not_found", msg.JOB_NOT_FOUND.format(job_id=job_id))
        outputs = json.loads(row.outputs or "{}")
        wrapped = row.wrapped_key
    if name not in outputs or wrapped is None:
        raise NotFound("job.output_not_found", msg.OUTPUT_NOT_FOUND.format(job_id=job_id, name=name))
    key = vault.unwrap_key(rt.master_key, wrapped, key_context(job_id))
    return vault.decrypt_to_bytes(rt.settings.data_dir / outputs[name]["file"], key)


__all__ = ["claim_next_job", "run_job", "read_output", "view"]
