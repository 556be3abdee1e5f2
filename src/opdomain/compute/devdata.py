"""The dev environment's data (开发环境数据): a sampled, masked copy of exactly the granted columns.

Rule 四.(四) R4.4d: models are trained and validated on sampled, desensitized data; R4.2b: personal
information and trade secrets reach an analyst only desensitized. Built inside the domain, in DuckDB
(vectorised SQL, no per-row Python):

1. **Sample by data subject.** The sampling unit is the enterprise when a granted table identifies
   enterprises, else the person. ``max(10 %, 50)`` subjects (all when fewer) are drawn by ranking
   every subject on a keyed hash (HMAC under a sub-key of the grant's pseudonym key), so the sample is
   stable for one grant and different across grants. All rows of a sampled subject are kept in every
   table, so joins still match. When the grant requires consent for that subject type, only
   consenting subjects are sampled.
2. **Mask.** Each column gets :func:`opdomain.privacy.masking.default_mask_for`: identifiers become
   keyed pseudonyms (``E_…`` enterprises, ``P_…`` persons; same subject → same pseudonym in every table
   of one grant, a different one in another grant), names and phones are masked, dates generalised,
   L3/L4 numbers perturbed deterministically. Integer columns stay integers.
3. **Store encrypted** like datasets: Parquet written in memory and encrypted with a fresh data key
   per build (wrapped by the master key, context ``grant:<id>:dev:<build>``) under
   ``data/grants/<grant>/dev/<build>/``. A new build supersedes the previous one, whose key is
   destroyed and files deleted (crypto-shredding).

The build is audited with counts and mask kinds, never values. See docs/dev-environment.md.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from opdomain.catalog.ingest import read_version
from opdomain.catalog.service import ColumnView, current_file, get_dataset
from opdomain.compute.models import DevBuild
from opdomain.errors import DomainError, Message, NotFound
from opdomain.identity.roles import can
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle.consent import consenting_subjects
from opdomain.lifecycle.grants import GrantView, load_grant, pseudonym_key, workspace_grant
from opdomain.privacy.masking import default_mask_for, mask_sql, pseudonym, quote_ident
from opdomain.runtime import Runtime
from opdomain.store import vault
from opdomain.store.db import new_id, utcnow

SAMPLE_FRACTION = 0.10
SAMPLE_MIN = 50
#: sampling unit preference: enterprises first (a person's rows follow their employer)
SUBJECT_ORDER = ("enterprise", "person")

NO_DEV_DATA = Message("开发环境数据尚未生成，请先生成（opdomain devdata build）",
                      "no dev data yet: build it first (opdomain devdata build)")
DEV_BUILD_FAILED = Message("开发环境数据生成失败：{reason}", "building the dev data failed: {reason}")


@dataclass(frozen=True)
class DevBuildView:
    id: str
    grant_id: str
    status: str
    built_by: str
    started_at: datetime
    finished_at: datetime | None
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        tables = {name: {k: v for k, v in t.items() if k != "file"}
                  for name, t in self.manifest.get("tables", {}).items()}
        return {"id": self.id, "grant_id": self.grant_id, "status": self.status, "built_by": self.built_by,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "sample": self.manifest.get("sample", {}), "tables": tables}


def _view(b: DevBuild) -> DevBuildView:
    return DevBuildView(b.id, b.grant_id, b.status, b.built_by, b.started_at, b.finished_at,
                        json.loads(b.manifest or "{}"))


# ---------------------------------------------------------------------------------------------
# masking policy of the dev copy


def dev_mask(col: ColumnView) -> tuple[str, dict[str, object]] | None:
    """The mask (kind, params) of a column in the dev copy; None keeps it clear.

    A subject column without a declared identifier type is pseudonymised all the same: a subject key
    must never reach the dev copy in clear.
    """
    chosen = default_mask_for(col.grade, col.identifier, col.type)
    if chosen is None and col.subject is not None:
        return "pseudonym", {"prefix": "P_" if col.subject == "person" else "E_"}
    return chosen


def dev_mask_sql(col: ColumnView, key_hex: str) -> str:
    """The DuckDB expression of one column of the dev copy, keeping the column's type."""
    ident = quote_ident(col.name)
    chosen = dev_mask(col)
    if chosen is None:
        return ident
    kind, params = chosen
    expr = mask_sql(kind, ident, key_hex=key_hex, value_type=col.type, **params)
    if kind == "perturb_number":
        # keep the column's type and precision (yuan to the cent) so dev SQL runs unchanged on real data
        expr = f"CAST(round({expr}) AS BIGINT)" if col.type == "integer" else f"round({expr}, 2)"
    return expr


def dev_subject_pseudonyms(col: ColumnView, key_hex: str, ids: Sequence[str]) -> list[str]:
    """The dev-copy values of subject ids (for the consent filter in the dev environment)."""
    chosen = dev_mask(col)
    if chosen is None or chosen[0] != "pseudonym":
        return list(ids)
    prefix = str(chosen[1].get("prefix", "P_"))
    return [p for p in (pseudonym(i, key_hex, prefix) for i in ids) if p is not None]


def _sample_key(key_hex: str) -> str:
    return hmac.new(bytes.fromhex(key_hex), b"opdomain/dev/sample", hashlib.sha256).hexdigest()


def sample_size(population: int, fraction: float = SAMPLE_FRACTION, minimum: int = SAMPLE_MIN) -> int:
    """``max(⌈fraction·n⌉, minimum)``, at most n."""
    return min(population, max(math.ceil(population * fraction), minimum))


# ---------------------------------------------------------------------------------------------
# build


def _catalog(rt: Runtime, grant: GrantView) -> dict[str, list[ColumnView]]:
    out: dict[str, list[ColumnView]] = {}
    for dataset in grant.datasets:
        cols = {c.name: c for c in get_dataset(rt, None, dataset).columns}
        out[dataset] = [cols[c] for c in grant.columns_of(dataset) if c in cols]
    return out


def _check_builder(rt: Runtime, principal: Principal, grant_id: str, today: date | None) -> GrantView:
    """The authority (grant.manage) or an analyst inside the grant's open workspace may build."""
    if can(principal.role, "grant.manage"):
        return load_grant(rt, grant_id, today=today)
    authorize(rt, principal, "workspace.use", object_type="grant", object_id=grant_id)
    return workspace_grant(rt, principal, grant_id, action="devdata.build", today=today)


def build_dev_data(rt: Runtime, principal: Principal, grant_id: str, *, today: date | None = None,
                   fraction: float = SAMPLE_FRACTION, minimum: int = SAMPLE_MIN) -> DevBuildView:
    """Builds (or rebuilds) the grant's dev copy; see the module docstring. Audited."""
    grant = _check_builder(rt, principal, grant_id, today)
    key_hex = pseudonym_key(rt, grant_id)
    build_id = new_id()
    with rt.store.session() as s:
        s.add(DevBuild(id=build_id, grant_id=grant_id, status="building", built_by=principal.username,
                       cipher=rt.cipher, manifest="{}"))
    out_dir = rt.settings.data_dir / "grants" / grant_id / "dev" / build_id
    try:
        manifest, dek = _build(rt, grant, key_hex, build_id, out_dir, fraction, minimum)
    except Exception as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        code = exc.code if isinstance(exc, DomainError) else "devdata.failed"
        reason = exc.message.en if isinstance(exc, DomainError) else type(exc).__name__
        with rt.store.session() as s:
            b = s.get(DevBuild, build_id)
            assert b is not None
            b.status, b.finished_at = "failed", utcnow()
            rt.audit.record(s, principal, "devdata.build", "grant", grant_id, outcome="failed", reason=code,
                            grant_id=grant_id, details={"build_id": build_id, "error": reason})
        if isinstance(exc, DomainError):
            raise
        raise DomainError("devdata.failed", DEV_BUILD_FAILED.format(reason=type(exc).__name__), status=500) from exc
    superseded: list[str] = []
    with rt.store.session() as s:
        for old in s.scalars(select(DevBuild).where(DevBuild.grant_id == grant_id, DevBuild.status == "ready")):
            old.status, old.wrapped_key = "superseded", None  # crypto-shredding of the old copy
            superseded.append(old.id)
        b = s.get(DevBuild, build_id)
        assert b is not None
        b.status, b.finished_at, b.manifest = "ready", utcnow(), json.dumps(manifest, ensure_ascii=False)
        b.wrapped_key = vault.wrap_key(rt.master_key, dek, _dev_key_context(grant_id, build_id))
        rt.audit.record(s, principal, "devdata.build", "grant", grant_id, grant_id=grant_id, details={
            "build_id": build_id, "sample": manifest["sample"], "superseded": superseded,
            "tables": {n: {"rows": t["rows"], "source_rows": t["source_rows"], "masks": t["masks"]}
                       for n, t in manifest["tables"].items()}})
        view = _view(b)
    for old_id in superseded:
        shutil.rmtree(out_dir.parent / old_id, ignore_errors=True)
    return view


def _dev_key_context(grant_id: str, build_id: str) -> str:
    return f"grant:{grant_id}:dev:{build_id}"


def _sample_population(con: duckdb.DuckDBPyConnection, subject: str, sources: list[tuple[str, str]],
                       consent: Sequence[str] | None, key_hex: str, fraction: float, minimum: int) -> dict[str, int]:
    """Creates table ``sample_<subject>(id)``; returns population and sample sizes."""
    union = " UNION ".join(f"SELECT CAST({quote_ident(c)} AS VARCHAR) AS id FROM {t} WHERE {quote_ident(c)} IS NOT NULL"
                           for t, c in sources)
    where = ""
    if consent is not None:
        con.register(f"consent_{subject}", pa.table({"id": pa.array(list(consent), pa.string())}))
        where = f" WHERE id IN (SELECT id FROM consent_{subject})"
    con.execute(f"CREATE TEMP TABLE population_{subject} AS SELECT DISTINCT id FROM ({union}){where}")
    population = int(con.execute(f"SELECT count(*) FROM population_{subject}").fetchall()[0][0])
    size = sample_size(population, fraction, minimum)
    rank = mask_sql("pseudonym", "id", key_hex=_sample_key(key_hex), prefix="", length=32)
    con.execute(f"CREATE TEMP TABLE sample_{subject} AS SELECT id FROM population_{subject} "
                f"ORDER BY {rank}, id LIMIT {size}")
    return {"population": population, "sampled": size}


def _build(rt: Runtime, grant: GrantView, key_hex: str, build_id: str, out_dir: Any, fraction: float,
           minimum: int) -> tuple[dict[str, Any], bytes]:
    catalog = _catalog(rt, grant)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    try:
        versions: dict[str, int] = {}
        source_rows: dict[str, int] = {}
        for i, (dataset, cols) in enumerate(catalog.items()):
            versions[dataset] = current_file(rt, dataset)[3]
            table = read_version(rt, dataset).select([c.name for c in cols])
            source_rows[dataset] = table.num_rows
            con.register(f"src_{i}", table)
        names = {dataset: f"src_{i}" for i, dataset in enumerate(catalog)}
        subject_cols: dict[str, dict[str, str]] = {}  # subject type → dataset → column
        for dataset, cols in catalog.items():
            for c in cols:
                if c.subject:
                    subject_cols.setdefault(c.subject, {}).setdefault(dataset, c.name)
        sample: dict[str, Any] = {"fraction": fraction, "minimum": minimum, "subjects": {}}
        filters: dict[str, str] = {}
        remaining = set(catalog)
        for subject in SUBJECT_ORDER:
            tables = {d: c for d, c in subject_cols.get(subject, {}).items() if d in remaining}
            if not tables:
                continue
            consent = (consenting_subjects(rt, grant.scenario, grant.operator_code, subject)
                       if subject in grant.consent_subjects else None)
            sample["subjects"][subject] = {
                **_sample_population(con, subject, [(names[d], c) for d, c in tables.items()], consent, key_hex,
                                     fraction, minimum),
                "consent_only": consent is not None, "tables": sorted(tables)}
            for d, col_name in tables.items():
                filters[d] = f"CAST({quote_ident(col_name)} AS VARCHAR) IN (SELECT id FROM sample_{subject})"
                remaining.discard(d)
        row_key = _sample_key(key_hex)
        for d in sorted(remaining):  # a table without any subject column: sample its rows
            numbered = f"{names[d]}_rows"
            con.execute(f"CREATE TEMP TABLE {numbered} AS SELECT *, row_number() OVER () AS rowid_ FROM {names[d]}")
            names[d] = numbered
            rank = mask_sql("pseudonym", "rowid_", key_hex=row_key, prefix="", length=32)
            filters[d] = (f"rowid_ IN (SELECT rowid_ FROM {numbered} ORDER BY {rank} "
                          f"LIMIT {sample_size(source_rows[d], fraction, minimum)})")
            sample.setdefault("rows_sampled", []).append(d)

        dek = vault.new_data_key()
        out_dir.mkdir(parents=True, exist_ok=True)
        tables_out: dict[str, Any] = {}
        for dataset, cols in catalog.items():
            select_list = ", ".join(f"{dev_mask_sql(c, key_hex)} AS {quote_ident(c.name)}" for c in cols)
            src = names[dataset]
            order = next((quote_ident(c.name) for c in cols if c.subject), "1")
            masked = con.sql(f"SELECT {select_list} FROM {src} WHERE {filters[dataset]} ORDER BY {order}"
                             ).to_arrow_table()
            buf = io.BytesIO()
            pq.write_table(masked, buf, compression="zstd")
            target = out_dir / f"{dataset}.parquet.enc"
            cipher_buf = io.BytesIO()
            vault.encrypt_stream(io.BytesIO(buf.getvalue()), cipher_buf, dek, rt.cipher)
            target.write_bytes(cipher_buf.getvalue())
            target.chmod(0o600)
            tables_out[dataset] = {
                "file": str(target.relative_to(rt.settings.data_dir)), "rows": masked.num_rows,
                "source_rows": source_rows[dataset], "source_version": versions[dataset],
                "sha256": hashlib.sha256(cipher_buf.getvalue()).hexdigest(),
                "masks": {c.name: (dev_mask(c) or ("clear",))[0] for c in cols},
            }
        return {"build_id": build_id, "sample": sample, "tables": tables_out}, dek
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# reading


def latest_build(rt: Runtime, grant_id: str) -> DevBuildView | None:
    with rt.store.session() as s:
        b = s.scalar(select(DevBuild).where(DevBuild.grant_id == grant_id, DevBuild.status == "ready")
                     .order_by(DevBuild.finished_at.desc()).limit(1))
        return _view(b) if b else None


def list_builds(rt: Runtime, grant_id: str) -> list[DevBuildView]:
    with rt.store.session() as s:
        return [_view(b) for b in s.scalars(select(DevBuild).where(DevBuild.grant_id == grant_id)
                                            .order_by(DevBuild.started_at.desc()))]


def read_dev_table(rt: Runtime, build: DevBuildView, dataset: str) -> pa.Table:
    """Decrypts one table of a dev build (inside the domain)."""
    with rt.store.session() as s:
        b = s.get(DevBuild, build.id)
        wrapped = b.wrapped_key if b is not None and b.status == "ready" else None
    if wrapped is None:
        raise NotFound("devdata.not_built", NO_DEV_DATA)
    dek = vault.unwrap_key(rt.master_key, wrapped, _dev_key_context(build.grant_id, build.id))
    path = rt.settings.data_dir / build.manifest["tables"][dataset]["file"]
    return pq.read_table(io.BytesIO(vault.decrypt_to_bytes(path, dek)))


def read_dev_tables(rt: Runtime, grant_id: str) -> tuple[str, dict[str, pa.Table]]:
    """Decrypts the grant's current dev copy (inside the domain): (build id, dataset → table)."""
    build = latest_build(rt, grant_id)
    if build is None:
        raise NotFound("devdata.not_built", NO_DEV_DATA)
    return build.id, {name: read_dev_table(rt, build, name) for name in build.manifest["tables"]}
