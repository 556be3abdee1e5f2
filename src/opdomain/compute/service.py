"""Governed queries (运营域内计算): the service between the workspace and the analyser/engine.

Rules 一.(一) R1.1a (raw data never leaves; usable but not visible), 四.(二) R4.2b (personal information
only masked or with consent), 四.(四) R4.4c (every operation recorded; raw data invisible to processing
staff), R4.4d (dev data), 四.(五) R4.5a (only within the authorized scope), 五.(一) R5.1a (consent).

``run_query``: the caller must be an analyst of the grant's operator with the grant active within its
term; the SQL is analysed against the grant's policy (tables, columns, masks, aggregation rule, k),
on real data also against the grant's history of accepted queries (differencing), and only then run —
in DuckDB, over the dev copy ("dev") or the decrypted current versions ("domain"), with the consent
filter of the grant. Every query, accepted or refused, lands in ``queries`` (the workspace's history)
and in the audit log (``query.run``: SQL digest, tables, columns, decisions, rows returned — never a
value). The grant's pseudonym key only enters SQL the analyst never sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from opdomain.catalog import messages as catalog_msg
from opdomain.catalog.ingest import read_version
from opdomain.catalog.service import ColumnView, current_file, get_dataset
from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.devdata import NO_DEV_DATA, dev_mask, dev_subject_pseudonyms, latest_build, read_dev_table
from opdomain.compute.models import QueryHistoryEntry, QueryRecord
from opdomain.compute.policy import ColumnPolicy, GrantPolicy, TablePolicy, weight_column
from opdomain.errors import DomainError, InvalidInput, Message, NotFound
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import policy as grant_rules
from opdomain.lifecycle.consent import consenting_subjects
from opdomain.lifecycle.grants import GrantView, get_grant, load_grant, pseudonym_key
from opdomain.privacy.masking import default_mask_for, mask_sql
from opdomain.runtime import Runtime
from opdomain.store.db import new_id

ENVIRONMENTS = ("dev", "domain")
#: engine limits of one interactive query
MEMORY_LIMIT = "2GB"
THREADS = 2
TIMEOUT_S = 30.0
#: how many accepted domain queries of a grant the differencing check compares with
HISTORY_LIMIT = 1000
#: engine codes that mean the query failed to run rather than broke a rule
ENGINE_FAILURES = frozenset({"query.engine_error", "query.timeout"})

BAD_ENVIRONMENT = Message(
    "环境无效：{value}（dev 开发环境 或 domain 运营域）", "unknown environment: {value} (dev or domain)"
)
QUERY_FAILED = Message("查询执行失败", "the query failed to run")
ENGINE_ERROR_WITHHELD = Message(
    "查询在域内数据上执行失败；引擎的错误信息可能包含数据值，不予显示。请先在开发环境中调试该查询",
    "the query failed on the domain's data; the engine's message is withheld because it could quote a "
    "value — debug the query in the dev environment first",
)


# ---------------------------------------------------------------------------------------------
# the grant as the analyser sees it


def _catalog_columns(rt: Runtime, grant: GrantView) -> dict[str, list[ColumnView]]:
    out: dict[str, list[ColumnView]] = {}
    for dataset in grant.datasets:
        cols = {c.name: c for c in get_dataset(rt, None, dataset).columns}
        out[dataset] = [cols[c] for c in grant.columns_of(dataset) if c in cols]
    return out


def domain_mask(col: ColumnView) -> tuple[str, dict[str, object]] | None:
    """The mask a column carries in governed queries on real data (domain environment).

    Identifiers and subject keys stay as they are: the analysis rule never lets them into an output,
    a group key or a filter, and joins and the k count need their real values. Numbers stay real:
    aggregates over at least k subjects of real data are the point of the domain (the dev copy
    perturbs them). Other L3/L4 text, dates and booleans carry their default mask
    (privacy.masking.default_mask_for), so even where they are allowed to shape a result, they
    do so only desensitized (R4.2b).
    """
    if col.identifier is not None or col.subject is not None or col.type in ("integer", "number"):
        return None
    return default_mask_for(col.grade, None, col.type)


def build_policy(
    grant: GrantView, catalog: Mapping[str, Sequence[ColumnView]], environment: str, key_hex: str | None
) -> GrantPolicy:
    """The :class:`GrantPolicy` of a grant in one environment. In "dev" the data is already masked,
    so no column carries a mask expression."""
    tables = []
    for dataset, cols in catalog.items():
        columns = []
        for c in cols:
            expr = None
            if environment == "domain":
                chosen = domain_mask(c)
                if chosen is not None:
                    kind, params = chosen
                    expr = mask_sql(kind, "{col}", key_hex=key_hex, value_type=c.type, **params)
            columns.append(ColumnPolicy(c.name, c.type, c.grade, c.identifier, c.subject, expr))
        unique = frozenset(c.subject for c in cols if c.subject and c.unique)
        # domain tables carry precomputed subject weights (see _domain_tables): the k check sums
        # them and needs an exact DISTINCT count only for groups near k (analysis_fastpath)
        weighted = (
            frozenset(c.subject for c in cols if c.subject and not c.unique) if environment == "domain" else frozenset()
        )
        tables.append(TablePolicy(dataset, tuple(columns), unique, subject_weighted=weighted))
    return GrantPolicy(grant.id, tuple(tables), k=grant.k, consent_subjects=frozenset(grant.consent_subjects))


# ---------------------------------------------------------------------------------------------
# data: decrypted Arrow tables, cached per dataset version in-process (small LRU)


class _TableCache:
    """A small LRU of decrypted tables, bounded by count and bytes; keys name the exact version, so a
    new version or a new dev build is never served stale."""

    def __init__(self, max_entries: int = 24, max_bytes: int = 2 * 1024**3) -> None:
        self._data: OrderedDict[tuple[str, ...], pa.Table] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries, self.max_bytes = max_entries, max_bytes

    def get(self, key: tuple[str, ...], load: Callable[[], pa.Table]) -> pa.Table:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        table = load()
        with self._lock:
            self._data[key] = table
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries or (
                len(self._data) > 1 and sum(t.nbytes for t in self._data.values()) > self.max_bytes
            ):
                self._data.popitem(last=False)
        return table

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


TABLE_CACHE = _TableCache()


def _domain_tables(
    rt: Runtime, catalog: Mapping[str, Sequence[ColumnView]], used: Sequence[str]
) -> dict[str, pa.Table]:
    out = {}
    home = str(rt.settings.home)
    for dataset in used:
        path, wrapped, _cipher, version = current_file(rt, dataset)
        if wrapped is None:  # crypto-shredded (R3.9d): never served from the cache either
            raise NotFound("dataset.destroyed", catalog_msg.NO_VERSION.format(name=dataset))
        weighted = [c.name for c in catalog[dataset] if c.subject and not c.unique]
        def load(d: str = dataset, w: list[str] = weighted) -> pa.Table:
            return _add_weights(read_version(rt, d), w)

        full = TABLE_CACHE.get((home, "domain", dataset, str(version), path.name), load)
        # only the granted columns, plus the weights of non-unique subject columns
        keep = [c.name for c in catalog[dataset]] + [weight_column(c) for c in weighted]
        out[dataset] = full.select(keep)
    return out


def _dev_tables(
    rt: Runtime,
    grant_id: str,
    used: Sequence[str],
    catalog: Mapping[str, Sequence[ColumnView]],
    consent: Mapping[str, Sequence[str]] | None,
) -> dict[str, pa.Table]:
    """The dev copy's tables; with a consent requirement, only the rows of subjects whose consent is
    current *now* (a withdrawal after the build takes effect at once, R4.2b)."""
    build = latest_build(rt, grant_id)
    if build is None:
        raise NotFound("devdata.not_built", NO_DEV_DATA)
    home = str(rt.settings.home)
    out = {}
    for d in used:
        if d not in build.manifest.get("tables", {}):
            continue
        table = TABLE_CACHE.get((home, "dev", grant_id, build.id, d), lambda d=d: read_dev_table(rt, build, d))  # type: ignore[misc]
        for c in catalog[d]:
            if consent is not None and c.subject is not None and c.subject in consent and c.name in table.column_names:
                allowed = pa.array(list(consent[c.subject]), pa.string())
                table = table.filter(pc.is_in(table.column(c.name), value_set=allowed))
        out[d] = table
    return out


def _consent(
    rt: Runtime, grant: GrantView, catalog: Mapping[str, Sequence[ColumnView]], environment: str, key_hex: str
) -> dict[str, list[str]] | None:
    """Subject type → the consenting subjects' ids as they appear in the data of ``environment``."""
    if not grant.consent_subjects:
        return None
    out: dict[str, list[str]] = {}
    for subject in grant.consent_subjects:
        ids = consenting_subjects(rt, grant.scenario, grant.operator_code, subject)
        if environment == "dev":
            col = next((c for cols in catalog.values() for c in cols if c.subject == subject), None)
            ids = dev_subject_pseudonyms(col, key_hex, ids) if col is not None else ids
        out[subject] = ids
    return out


# ---------------------------------------------------------------------------------------------
# running


@dataclass(frozen=True)
class QueryView:
    id: str
    grant_id: str
    username: str
    environment: str
    sql: str
    sql_sha256: str
    status: str
    refusal_code: str | None
    rows: int
    ms: int
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["at"] = self.at.isoformat()
        return d


def _json_value(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes | bytearray):
        return v.hex()
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return v


def _plain(obj: Any) -> Any:
    """A JSON-ready form of the analyser's decisions (dataclasses, enums, strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def _log(
    rt: Runtime,
    principal: Principal,
    *,
    query_id: str,
    grant_id: str,
    environment: str,
    sql: str,
    sql_sha: str,
    status: str,
    code: str | None,
    rows: int,
    ms: int,
    details: Mapping[str, Any],
    history: Any = None,
) -> None:
    """One transaction: the workspace's query row, the differencing history entry and the audit record."""
    with rt.store.session() as s:
        s.add(
            QueryRecord(
                id=query_id,
                grant_id=grant_id[:32],
                username=principal.username,
                environment=environment,
                sql=sql,
                sql_sha256=sql_sha,
                status=status,
                refusal_code=code,
                rows=rows,
                ms=ms,
            )
        )
        if history is not None:
            s.add(
                QueryHistoryEntry(
                    grant_id=grant_id, query_id=query_id, entry=json.dumps(history, ensure_ascii=False, default=str)
                )
            )
        outcome = {"ok": "allowed", "refused": "refused"}.get(status, "failed")
        rt.audit.record(
            s,
            principal,
            "query.run",
            "query",
            query_id,
            outcome=outcome,
            reason=code or "",
            grant_id=grant_id[:32],
            details=dict(details),
        )


def _history(rt: Runtime, grant_id: str) -> list[dict[str, Any]]:
    with rt.store.session() as s:
        rows = s.scalars(
            select(QueryHistoryEntry.entry)
            .where(QueryHistoryEntry.grant_id == grant_id)
            .order_by(QueryHistoryEntry.id.desc())
            .limit(HISTORY_LIMIT)
        )
        return [json.loads(r) for r in reversed(list(rows))]


def _differencing(rt: Runtime, grant_id: str, query_id: str, analyzed: Any, eng: Any) -> dict[str, Any]:
    """The differencing check against the grant's accepted domain queries (SPEC §5: no way around the
    rule by repeated queries that differ by a small set); returns the new query's history entry."""
    from opdomain.compute.analysis_differencing import HistoryEntry, check_differencing, history_entry

    check_differencing(eng, analyzed, [HistoryEntry.from_dict(e) for e in _history(rt, grant_id)])
    return history_entry(analyzed, query_id, dt.datetime.now(dt.UTC).isoformat()).to_dict()


def run_query(
    rt: Runtime, principal: Principal, grant_id: str, sql: str, environment: str, *, today: dt.date | None = None
) -> dict[str, Any]:
    """Runs one governed query; see the module docstring. Returns ``{"columns", "rows", "row_count",
    "truncated", "decisions", "query_id", "environment", "ms"}``; a refusal raises
    the analyser's ``QueryRefused`` (422, or 403 for scope) or ``PermissionDenied`` (403), audited."""
    from opdomain.compute import analysis, engine

    started = time.perf_counter()
    query_id = new_id()
    history: Any = None
    sql = sql or ""
    sql_sha = hashlib.sha256(sql.encode()).hexdigest()
    details: dict[str, Any] = {"environment": environment, "sql_sha256": sql_sha}

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    def refuse(exc: DomainError, status: str = "refused") -> None:
        # the code and rule only: a refusal's message may quote a group label or an engine message
        rule = {"rule": exc.details["rule"]} if "rule" in exc.details else {}
        _log(
            rt,
            principal,
            query_id=query_id,
            grant_id=grant_id,
            environment=str(environment)[:8],
            sql=sql,
            sql_sha=sql_sha,
            status=status,
            code=exc.code,
            rows=0,
            ms=elapsed(),
            details={**details, **rule},
        )

    authorize(rt, principal, "workspace.use", object_type="grant", object_id=grant_id)
    try:
        if environment not in ENVIRONMENTS:
            raise InvalidInput("query.bad_environment", BAD_ENVIRONMENT.format(value=environment))
        today = today or dt.date.today()
        grant = load_grant(rt, grant_id, today=today)
        grant_rules.check_workspace_access(grant, principal, today)
        catalog = _catalog_columns(rt, grant)
        key_hex = pseudonym_key(rt, grant_id)
        policy = build_policy(grant, catalog, environment, key_hex)
        analyzed = analysis.analyze(sql, policy, "dev" if environment == "dev" else "domain")
        details.update(
            tables=list(analyzed.tables), columns=_plain(analyzed.columns), decisions=_plain(analyzed.decisions)
        )
        used = [d for d in catalog if d in set(analyzed.tables)] or list(catalog)
        consent = _consent(rt, grant, catalog, environment, key_hex)
        tables = (
            _dev_tables(rt, grant_id, used, catalog, consent)
            if environment == "dev"
            else _domain_tables(rt, catalog, used)
        )
        with engine.open_engine(
            tables,
            memory_limit=MEMORY_LIMIT,
            threads=THREADS,
            timeout_s=TIMEOUT_S,
            consent=consent if environment == "domain" else None,
        ) as eng:
            if environment == "domain":
                history = _differencing(rt, grant_id, query_id, analyzed, eng)
            columns, rows, truncated = eng.run(
                analyzed.rewritten_sql, max_rows=rt.settings.query_row_cap, error_detail=environment == "dev"
            )
    except DomainError as exc:
        refuse(exc, status="failed" if exc.code in ENGINE_FAILURES else "refused")
        if environment == "domain" and exc.code == "query.engine_error":
            # DuckDB's own message can quote a value of the real data (a failed conversion names it)
            raise QueryRefused(exc.code, ENGINE_ERROR_WITHHELD, rule="R1.1a") from None
        raise
    except Exception as exc:
        refuse(DomainError("query.failed", QUERY_FAILED, status=500), status="failed")
        raise DomainError("query.failed", QUERY_FAILED, status=500) from exc
    ms = elapsed()
    details.update(rows=len(rows), truncated=truncated, ms=ms)
    _log(
        rt,
        principal,
        query_id=query_id,
        grant_id=grant_id,
        environment=environment,
        sql=sql,
        sql_sha=sql_sha,
        status="ok",
        code=None,
        rows=len(rows),
        ms=ms,
        details=details,
        history=history,
    )
    return {
        "query_id": query_id,
        "environment": environment,
        "columns": list(columns),
        "rows": [[_json_value(v) for v in row] for row in rows],
        "row_count": len(rows),
        "truncated": bool(truncated),
        "decisions": _plain(analyzed.decisions),
        "ms": ms,
    }


def list_queries(rt: Runtime, principal: Principal, grant_id: str, *, limit: int = 200) -> list[QueryView]:
    """The workspace's query history (newest first); operator staff see only their own grants'."""
    get_grant(rt, principal, grant_id)
    with rt.store.session() as s:
        rows = s.scalars(
            select(QueryRecord)
            .where(QueryRecord.grant_id == grant_id)
            .order_by(QueryRecord.at.desc())
            .limit(max(1, min(limit, 1000)))
        )
        return [
            QueryView(
                r.id,
                r.grant_id,
                r.username,
                r.environment,
                r.sql,
                r.sql_sha256,
                r.status,
                r.refusal_code,
                r.rows,
                r.ms,
                r.at,
            )
            for r in rows
        ]


def grant_schema(rt: Runtime, principal: Principal, grant_id: str) -> dict[str, Any]:
    """The granted columns with grade, identifier, subject and how each is masked in dev and domain."""
    grant = get_grant(rt, principal, grant_id)
    catalog = _catalog_columns(rt, grant)
    visible = {(c.dataset, c.column): c.visible for c in grant.columns}
    tables = []
    for dataset, cols in catalog.items():
        tables.append(
            {
                "name": dataset,
                "columns": [
                    {
                        "name": c.name,
                        "title": c.title,
                        "type": c.type,
                        "grade": c.grade,
                        "identifier": c.identifier,
                        "subject": c.subject,
                        "visible": visible.get((dataset, c.name), True),
                        "dev_mask": (dev_mask(c) or ("clear",))[0],
                        "domain_mask": (domain_mask(c) or ("clear",))[0],
                        "outputable": c.identifier is None and c.subject is None and c.grade != "L4",
                    }
                    for c in cols
                ],
            }
        )
    return {
        "grant_id": grant.id,
        "scenario": grant.scenario,
        "k": grant.k,
        "consent_subjects": list(grant.consent_subjects),
        "tables": tables,
    }


def _add_weights(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    from opdomain.compute.engine import add_subject_weights

    return add_subject_weights(table, columns) if columns else table
