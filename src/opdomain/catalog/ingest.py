"""Ingestion: validate a provider's CSV or Parquet file row by row and land it encrypted.

Rules 四.(二) R4.2a (data enters the domain's management), 一.(一) R1.1a (it never leaves).

1. The descriptor is parsed strictly; the department must exist and be the caller's own (R2.5).
2. The file is read by DuckDB as text, so that *every* cell is checked by us, with its row number:
   required values, types, unique keys, and identifier check digits (GB 11643, GB 32100, Luhn)
   — all as vectorised SQL, no per-row Python.
3. Any bad row rejects the whole import, with a quality report listing rows and reasons; the
   domain stays exactly as it was. Nothing is dropped silently.
4. A clean file is written as Parquet straight into an encrypting stream (no plaintext copy on
   disk) under a new name, then recorded as the dataset's new version in one transaction.
   A process killed at any point leaves the previous version current and intact; the orphan
   ciphertext of an interrupted import is unreferenced and swept (``sweep_interrupted``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from opdomain.catalog import descriptor as desc_mod
from opdomain.catalog import messages as msg
from opdomain.catalog.models import Dataset, DatasetColumn, DatasetVersion, ImportRun
from opdomain.catalog.service import ImportView, import_view
from opdomain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from opdomain.identity.models import Organization
from opdomain.identity.roles import Role
from opdomain.identity.service import Principal
from opdomain.privacy import identifiers as ids
from opdomain.runtime import Runtime
from opdomain.store import vault
from opdomain.store.db import utcnow

Progress = Callable[[str, int, int], None]
MAX_REPORTED_ISSUES = 1000
_DUCK_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}
_BATCH_ROWS = 256 * 1024


def _identifier_check_sql(identifier: str | None, col: str) -> str | None:
    return ids.valid_sql(identifier, col) if identifier else None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_caller(rt: Runtime, principal: Principal, d: desc_mod.Descriptor) -> None:
    with rt.store.session() as s:
        dept = s.scalar(select(Organization).where(Organization.code == d.department))
    if dept is None:
        raise NotFound("import.unknown_department", msg.UNKNOWN_DEPARTMENT.format(code=d.department))
    if dept.kind != "provider":
        raise InvalidInput("import.not_provider", msg.NOT_A_PROVIDER.format(code=d.department))
    if principal.role != Role.PROVIDER or principal.organization_code != d.department:
        raise PermissionDenied(
            "auth.other_organization", msg.NOT_A_PROVIDER.format(code=f"{principal.organization_code}≠{d.department}")
        )


def import_dataset(
    rt: Runtime,
    principal: Principal,
    descriptor_path: Path,
    data_file: Path | None = None,
    progress: Progress | None = None,
) -> ImportView:
    """Imports one file as a new version of the descriptor's dataset; see the module docstring."""
    try:
        d = desc_mod.load(descriptor_path, data_file=data_file)
        _check_caller(rt, principal, d)
    except DomainError as exc:
        rt.audit.record_refusal(
            principal,
            "dataset.import",
            "dataset",
            str(descriptor_path.name),
            reason=exc.code,
            details={"message_en": exc.message.en},
        )
        raise
    run_id = _start_run(rt, principal, d)
    try:
        return _run(rt, principal, d, run_id, progress or (lambda *_: None))
    except DomainError as exc:
        _finish_run(rt, principal, run_id, status="rejected" if exc.code == "import.bad_rows" else "failed", error=exc)
        raise
    except Exception as exc:
        _finish_run(rt, principal, run_id, status="failed", error=exc)
        raise


def _start_run(rt: Runtime, principal: Principal, d: desc_mod.Descriptor) -> str:
    with rt.store.session() as s:
        run = ImportRun(
            dataset_name=d.name,
            department_code=d.department,
            actor=principal.username,
            status="running",
            source_name=d.path.name,
        )
        s.add(run)
        s.flush()
        rt.audit.record(
            s,
            principal,
            "dataset.import.start",
            "dataset",
            d.name,
            details={"import_id": run.id, "source": d.path.name},
        )
        return run.id


def _finish_run(rt: Runtime, principal: Principal, run_id: str, *, status: str, error: BaseException) -> None:
    with rt.store.session() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        report = json.loads(run.report or "{}")
        if isinstance(error, DomainError):
            report.update(message=error.message.zh, message_en=error.message.en, code=error.code)
            if error.details.get("issues") is not None:
                report["issues"] = error.details["issues"]
                report["truncated"] = error.details.get("truncated", False)
            run.rows_total = error.details.get("rows_total", run.rows_total)
            run.rows_bad = error.details.get("rows_bad", run.rows_bad)
        else:
            report.update(message="导入失败", message_en=f"import failed: {type(error).__name__}", code="import.failed")
        run.status, run.report, run.finished_at = status, json.dumps(report, ensure_ascii=False), utcnow()
        rt.audit.record(
            s,
            principal,
            "dataset.import",
            "dataset",
            run.dataset_name,
            outcome="refused",
            reason=report.get("code", status),
            details={"import_id": run_id, "rows_total": run.rows_total, "rows_bad": run.rows_bad},
        )


def _connect(rt: Runtime) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "preserve_insertion_order": True})
    tmp = rt.settings.work_dir / "duckdb-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory='{tmp}'")
    return con


def _run(rt: Runtime, principal: Principal, d: desc_mod.Descriptor, run_id: str, progress: Progress) -> ImportView:
    if not d.path.is_file():
        raise InvalidInput("import.unreadable", msg.DATA_UNREADABLE.format(path=d.path.name, reason="not found"))
    source_sha = _file_sha256(d.path)
    con = _connect(rt)
    try:
        progress("read", 0, 1)
        path_lit = str(d.path).replace("'", "''")
        try:
            if d.format == "csv":
                reader = (
                    f"read_csv('{path_lit}', header=true, all_varchar=true, delim=',', quote='\"', "
                    "escape='\"', strict_mode=true, null_padding=false)"
                )
                cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
                select_list = ", ".join(f"nullif({_q(c)}, '') AS {_q(c)}" for c in cols)
            else:
                reader = f"read_parquet('{path_lit}')"
                cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
                select_list = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in cols)
            expected = [f.name for f in d.fields]
            missing = [c for c in expected if c not in cols]
            extra = [c for c in cols if c not in expected]
            if missing or extra:
                raise InvalidInput(
                    "import.columns_mismatch",
                    msg.COLUMNS_MISMATCH.format(missing=", ".join(missing) or "-", extra=", ".join(extra) or "-"),
                    details={"missing": missing, "extra": extra},
                )
            con.execute(f"CREATE TABLE raw AS SELECT row_number() OVER () AS __row, {select_list} FROM {reader}")
        except duckdb.Error as exc:
            raise InvalidInput(
                "import.unreadable", msg.DATA_UNREADABLE.format(path=d.path.name, reason=str(exc).splitlines()[0][:300])
            ) from exc
        total = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
        if total == 0:
            raise InvalidInput("import.empty", msg.EMPTY_FILE)
        progress("validate", 0, total)
        issues, rows_bad = _validate(con, d, total)
        progress("validate", total, total)
        if rows_bad:
            raise InvalidInput(
                "import.bad_rows",
                msg.BAD_ROWS.format(bad=rows_bad, total=total),
                details={
                    "import_id": run_id,
                    "issues": issues,
                    "truncated": len(issues) >= MAX_REPORTED_ISSUES,
                    "rows_total": total,
                    "rows_bad": rows_bad,
                },
            )
        return _land(rt, principal, d, run_id, con, total, source_sha, progress)
    finally:
        con.close()


def _validate(con: duckdb.DuckDBPyConnection, d: desc_mod.Descriptor, total: int) -> tuple[list[dict[str, Any]], int]:
    """One vectorised pass: a row of (row number, column, issue code) per problem."""
    checks: list[str] = []
    for f in d.fields:
        c = _q(f.name)
        lit = f.name.replace("'", "''")
        if f.required or f.name in d.primary_key:
            checks.append(f"SELECT __row, '{lit}' AS col, 'required' AS code FROM raw WHERE {c} IS NULL")
        if f.type != "string":
            checks.append(
                f"SELECT __row, '{lit}', 'type' FROM raw WHERE {c} IS NOT NULL "
                f"AND TRY_CAST({c} AS {_DUCK_TYPES[f.type]}) IS NULL"
            )
        ident_sql = _identifier_check_sql(f.identifier, c)
        if ident_sql:
            checks.append(
                f"SELECT __row, '{lit}', '{f.identifier}' FROM raw WHERE {c} IS NOT NULL "
                f"AND NOT coalesce({ident_sql}, false)"
            )
        if f.unique and (f.name,) != tuple(d.primary_key):
            checks.append(
                f"SELECT __row, '{lit}', 'unique' FROM (SELECT __row, count(*) OVER (PARTITION BY {c}) n "
                f"FROM raw WHERE {c} IS NOT NULL) WHERE n > 1"
            )
    if d.primary_key:
        keys = ", ".join(_q(k) for k in d.primary_key)
        label = ",".join(d.primary_key).replace("'", "''")
        checks.append(
            f"SELECT __row, '{label}', 'unique' FROM (SELECT __row, count(*) OVER (PARTITION BY {keys}) n "
            f"FROM raw) WHERE n > 1"
        )
    con.execute("CREATE TABLE issues AS " + " UNION ALL ".join(checks))
    rows_bad = int(con.execute("SELECT count(DISTINCT __row) FROM issues").fetchall()[0][0])
    sample = con.execute(
        f"SELECT __row, col, code FROM issues ORDER BY __row, col LIMIT {MAX_REPORTED_ISSUES}"
    ).fetchall()
    types = {f.name: f.type for f in d.fields}
    out = []
    for row, col, code in sample:
        m = msg.ISSUE_MESSAGES[code].format(type=types.get(col, "")) if code == "type" else msg.ISSUE_MESSAGES[code]
        # the file's line number: the header is line 1
        out.append(
            {"row": int(row), "line": int(row) + 1, "column": col, "code": code, "message": m.zh, "message_en": m.en}
        )
    return out, rows_bad


class _EncryptingFile:
    """A write-only file object that encrypts what pyarrow writes, segment by segment."""

    def __init__(self, path: Path, key: bytes, cipher: str) -> None:
        import io

        self._buf = io.BytesIO()
        self._pos = 0
        self.path = path
        self._fh = path.open("wb")
        self._key, self._cipher = key, cipher
        self._digest = hashlib.sha256()
        self.closed = False
        self._started = False
        self._prefix = b""
        self._index = 0
        self._header = b""

    # pyarrow needs these
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def write(self, data: bytes | memoryview) -> int:
        b = bytes(data)
        self._buf.write(b)
        self._pos += len(b)
        if self._buf.tell() >= 2 * vault.SEGMENT:
            self._flush_segments(final=False)
        return len(b)

    def flush(self) -> None:
        pass

    def _emit(self, chunk: bytes, last: bool) -> None:
        import secrets
        import struct

        if not self._started:
            self._prefix = secrets.token_bytes(8)
            self._header = vault.MAGIC + self._cipher.encode().ljust(16, b"\0") + self._prefix
            self._out(self._header)
            self._started = True
        nonce = self._prefix + struct.pack(">I", self._index)
        self._out(vault._seal(self._cipher, self._key, nonce, chunk, vault._aad(self._header, self._index, last)))
        self._index += 1

    def _out(self, b: bytes) -> None:
        self._fh.write(b)
        self._digest.update(b)

    def _flush_segments(self, final: bool) -> None:
        data = self._buf.getvalue()
        cut = len(data) if final else (len(data) // vault.SEGMENT - 1) * vault.SEGMENT
        off = 0
        while off + vault.SEGMENT <= cut:
            self._emit(data[off : off + vault.SEGMENT], last=final and off + vault.SEGMENT == len(data))
            off += vault.SEGMENT
        if final and (off < len(data) or not self._started):
            self._emit(data[off:], last=True)
            off = len(data)
        import io

        self._buf = io.BytesIO()
        self._buf.write(data[off:])

    def close(self) -> None:
        if self.closed:
            return
        self._flush_segments(final=True)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self.closed = True

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def _land(
    rt: Runtime,
    principal: Principal,
    d: desc_mod.Descriptor,
    run_id: str,
    con: duckdb.DuckDBPyConnection,
    total: int,
    source_sha: str,
    progress: Progress,
) -> ImportView:
    typed = ", ".join(f"CAST({_q(f.name)} AS {_DUCK_TYPES[f.type]}) AS {_q(f.name)}" for f in d.fields)
    schema = pa.schema([(f.name, _arrow_type(f.type)) for f in d.fields])
    dek = vault.new_data_key()
    rel_dir = Path(d.name)
    target = rt.settings.data_dir / rel_dir / f"{run_id}.parquet.enc"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    sink = _EncryptingFile(partial, dek, rt.cipher)
    written = 0
    progress("write", 0, total)
    reader = con.sql(f"SELECT {typed} FROM raw ORDER BY __row").to_arrow_reader(_BATCH_ROWS)
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:  # type: ignore[arg-type]
        for batch in reader:
            writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
            written += batch.num_rows
            progress("write", written, total)
    sink.close()
    os.replace(partial, target)
    with rt.store.session() as s:
        dept = s.scalar(select(Organization).where(Organization.code == d.department))
        assert dept is not None
        ds = s.scalar(select(Dataset).where(Dataset.name == d.name))
        if ds is None:
            ds = Dataset(name=d.name, department_id=dept.id)
            s.add(ds)
            s.flush()
        version = (ds.current_version or 0) + 1
        prev_max = s.scalar(
            select(DatasetVersion.version)
            .where(DatasetVersion.dataset_id == ds.id)
            .order_by(DatasetVersion.version.desc())
            .limit(1)
        )
        version = max(version, (prev_max or 0) + 1)
        ds.title, ds.description, ds.primary_key = d.title, d.description, ",".join(d.primary_key)
        if d.forbidden is not None:
            ds.forbidden, ds.forbidden_category = True, d.forbidden.get("category")
            ds.forbidden_reason = d.forbidden.get("reason", "")
        ds.columns.clear()
        s.flush()
        for i, f in enumerate(d.fields):
            ds.columns.append(
                DatasetColumn(
                    position=i,
                    name=f.name,
                    title=f.title,
                    type=f.type,
                    grade=f.grade,
                    identifier=f.identifier,
                    subject=f.subject,
                    required=f.required,
                    unique=f.unique or (f.name,) == tuple(d.primary_key),
                )
            )
        context = key_context(d.name, version, run_id)
        s.add(
            DatasetVersion(
                dataset_id=ds.id,
                version=version,
                rows=total,
                file=str(rel_dir / target.name),
                cipher=rt.cipher,
                wrapped_key=vault.wrap_key(rt.master_key, dek, context),
                ciphertext_sha256=sink.sha256,
                source_name=d.path.name,
                source_sha256=source_sha,
                descriptor_sha256=d.sha256,
                import_id=run_id,
            )
        )
        ds.current_version = version
        run = s.get(ImportRun, run_id)
        assert run is not None
        run.status, run.rows_total, run.rows_bad, run.version, run.finished_at = "landed", total, 0, version, utcnow()
        run.report = json.dumps(
            {
                "issues": [],
                "truncated": False,
                "code": "import.landed",
                "message": f"已导入 {total} 行，版本 {version}",
                "message_en": f"{total} rows landed as version {version}",
            },
            ensure_ascii=False,
        )
        rt.audit.record(
            s,
            principal,
            "dataset.import",
            "dataset",
            d.name,
            details={
                "import_id": run_id,
                "version": version,
                "rows": total,
                "source_sha256": source_sha,
                "ciphertext_sha256": sink.sha256,
            },
        )
        s.flush()
        view = import_view(run)
    progress("done", total, total)
    return view


def _arrow_type(t: str) -> pa.DataType:
    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
    }[t]


def key_context(dataset: str, version: int, import_id: str) -> str:
    return f"{dataset}:{version}:{import_id}"


def read_version(rt: Runtime, dataset: str) -> pa.Table:
    """Decrypts the dataset's current version into an Arrow table — inside the domain only."""
    import io

    from opdomain.catalog.service import current_file

    path, wrapped, _cipher, version = current_file(rt, dataset)
    with rt.store.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
        assert ds is not None
        v = s.scalar(
            select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.version == version)
        )
        assert v is not None
        import_id = v.import_id
    if wrapped is None:
        raise NotFound("dataset.destroyed", msg.NO_VERSION.format(name=dataset))
    dek = vault.unwrap_key(rt.master_key, wrapped, key_context(dataset, version, import_id))
    return pq.read_table(io.BytesIO(vault.decrypt_to_bytes(path, dek)))


def sweep_interrupted(rt: Runtime) -> int:
    """Marks imports left 'running' by a killed process as failed and removes their partial files."""
    n = 0
    for p in rt.settings.data_dir.rglob("*.partial"):
        p.unlink(missing_ok=True)
    with rt.store.session() as s:
        for run in s.scalars(select(ImportRun).where(ImportRun.status == "running")):
            run.status, run.finished_at = "failed", utcnow()
            run.report = json.dumps(
                {
                    "issues": [],
                    "code": "import.interrupted",
                    "message": "导入进程中断，数据域未改变",
                    "message_en": "the import process was interrupted; the domain is unchanged",
                },
                ensure_ascii=False,
            )
            n += 1
    return n
