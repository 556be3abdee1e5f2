"""Frozen files of the airlock: copies of releasable outputs named by their SHA-256, encrypted at rest,
and the automated checks run on them (rules R1.1a, R4.2b, R4.4a, R5.1a).

A per-subject output leaves only in a shape the grant's agreement declares, and only with the rows of
subjects who consented: the job computes over every subject (a rating ranks all enterprises), the frozen
copy keeps only the consenting subjects' rows, and says how many it removed.
"""

from __future__ import annotations

import csv as pycsv
import hashlib
import io
import json
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select

from opdomain.egress import airlock_messages as msg
from opdomain.egress.airlock_models import AirlockFile, DeclaredOutput
from opdomain.egress.checks import CheckReport, OutputContext, check_output
from opdomain.errors import InvalidInput, NotFound
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle.consent import consenting_subjects
from opdomain.lifecycle.grants import GrantView, get_grant
from opdomain.runtime import Runtime
from opdomain.store import vault
from opdomain.store.db import new_id


@dataclass(frozen=True)
class Shape:
    name: str
    subject_type: str
    columns: tuple[str, ...]


def declare_output(rt: Runtime, principal: Principal, grant_id: str, *, name: str, subject_type: str,
                   columns: list[str]) -> Shape:
    """Records a per-subject output shape the grant's agreement declares (authority; R4.2b). Until the
    agreement document carries these, the authority declares them here; the agreement's signing will."""
    authorize(rt, principal, "airlock.declare_output", object_type="grant", object_id=grant_id)
    grant = get_grant(rt, principal, grant_id)
    cols = [str(c) for c in columns]
    if not name or subject_type not in ("person", "enterprise") or not cols or len(set(cols)) != len(cols):
        raise InvalidInput("airlock.bad_shape", msg.BAD_SHAPE.format(why="name, subject type and distinct columns"))
    with rt.store.session() as s:
        row = s.scalar(select(DeclaredOutput).where(DeclaredOutput.grant_id == grant.id, DeclaredOutput.name == name))
        if row is None:
            row = DeclaredOutput(grant_id=grant.id, name=name)
            s.add(row)
        row.subject_type, row.columns, row.declared_by = subject_type, json.dumps(cols), principal.username
        rt.audit.record(s, principal, "airlock.declare_output", "grant", grant.id, grant_id=grant.id,
                        details={"name": name, "subject_type": subject_type, "columns": cols})
    return Shape(name, subject_type, tuple(cols))


def declared_shapes(rt: Runtime, grant_id: str) -> dict[str, Shape]:
    with rt.store.session() as s:
        rows = s.scalars(select(DeclaredOutput).where(DeclaredOutput.grant_id == grant_id))
        return {r.name: Shape(r.name, r.subject_type, tuple(json.loads(r.columns))) for r in rows}


def _key_context(file_id: str) -> str:
    return f"airlock:{file_id}"


def freeze(rt: Runtime, principal: Principal, *, grant_id: str, job_id: str, output_name: str, data: bytes,
           derivation: dict[str, Any]) -> AirlockFile:
    """A frozen, encrypted copy named by its digest (one per grant and digest)."""
    sha = hashlib.sha256(data).hexdigest()
    with rt.store.session() as s:
        existing = s.scalar(select(AirlockFile).where(AirlockFile.grant_id == grant_id, AirlockFile.sha256 == sha,
                                                      AirlockFile.job_id == job_id))
        if existing is not None:
            return existing
        file_id = new_id()
        rel = f"airlock/{grant_id}/{sha}.enc"
        target = rt.settings.data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        with tempfile.NamedTemporaryFile(dir=rt.settings.work_dir, delete=True) as tmp:
            tmp.write(data)
            tmp.flush()
            vault.encrypt_file(Path(tmp.name), target, key, rt.cipher)
        row = AirlockFile(id=file_id, grant_id=grant_id, job_id=job_id, output_name=output_name, sha256=sha,
                          size=len(data), file=rel,
                          wrapped_key=vault.wrap_key(rt.master_key, key, _key_context(file_id)),
                          derivation=json.dumps(derivation, ensure_ascii=False), frozen_by=principal.username)
        s.add(row)
        rt.audit.record(s, principal, "airlock.freeze", "airlock_file", file_id, grant_id=grant_id,
                        details={"job": job_id, "output": output_name, "sha256": sha, "size": len(data),
                                 "derivation": derivation})
        s.flush()
        return row


def read_frozen(rt: Runtime, file_id: str) -> bytes:
    """The frozen bytes, verified against the digest they are named by."""
    with rt.store.session() as s:
        row = s.get(AirlockFile, file_id)
        if row is None or row.wrapped_key is None:
            raise NotFound("airlock.file_not_found", msg.FILE_NOT_FOUND.format(name=file_id))
        key = vault.unwrap_key(rt.master_key, row.wrapped_key, _key_context(file_id))
        path, sha = rt.settings.data_dir / row.file, row.sha256
    data = vault.decrypt_to_bytes(path, key)
    if hashlib.sha256(data).hexdigest() != sha:
        raise vault.IntegrityError("frozen file does not match its digest")
    return data


def read_table(data: bytes, name: str) -> pa.Table:
    if name.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data))
    # every column as text: credit codes and grades must stay exactly as written
    first = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    header = next(pycsv.reader([first]))
    types = {c: pa.string() for c in header}
    return pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(column_types=types,
                                                                                 strings_can_be_null=False))


def write_table(table: pa.Table, name: str) -> bytes:
    buf = io.BytesIO()
    if name.endswith(".parquet"):
        pq.write_table(table, buf)
    else:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()


def consent_filter(rt: Runtime, grant: GrantView, shape: Shape, data: bytes, name: str) -> tuple[bytes, dict]:
    """Only consenting subjects' rows of a per-subject output (R4.2b, R5.1a); the derivation says how many
    were removed."""
    try:
        table = read_table(data, name)
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidInput("airlock.unreadable", msg.UNREADABLE.format(name=name)) from exc
    key = shape.columns[0]
    if key not in table.column_names:
        return data, {"consent_filter": "subject column missing; the checks will refuse the file"}
    ids = consenting_subjects(rt, grant.scenario, grant.operator_code, shape.subject_type)
    mask = pc.fill_null(pc.is_in(pc.cast(table.column(key), pa.string()), value_set=pa.array(ids, pa.string())),
                        False)
    kept = table.filter(mask)
    note = msg.CONSENT_FILTERED.format(kept=kept.num_rows, total=table.num_rows,
                                       removed=table.num_rows - kept.num_rows)
    return write_table(kept, name), {"consent_filter": {"rows_in": table.num_rows, "rows_kept": kept.num_rows,
                                                        "rows_removed": table.num_rows - kept.num_rows,
                                                        "message": note.zh, "message_en": note.en}}


def run_checks(rt: Runtime, grant: GrantView, data: bytes, name: str, kind: str, shape: Shape | None) -> CheckReport:
    """The automated checks (egress.checks.check_output) on the frozen bytes, told what the grant knows."""
    consenting = None
    if shape is not None:
        consenting = frozenset(consenting_subjects(rt, grant.scenario, grant.operator_code, shape.subject_type))
    context = OutputContext(kind=kind, k=grant.k, per_subject_columns=shape.columns if shape else None,
                            subject_column=shape.columns[0] if shape else None, consenting_subjects=consenting)
    with tempfile.TemporaryDirectory(dir=rt.settings.work_dir) as scratch:
        path = Path(scratch) / name
        path.write_bytes(data)
        report = check_output(path, context=context)
    return report
