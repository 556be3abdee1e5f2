"""Lineage (数据血缘) as OpenLineage run events (spec 2-0-2), from every product back to its jobs, code,
datasets and columns (SPEC §7, rules 五.(一) R5.1b).

Events are plain JSON in the OpenLineage ``RunEvent`` shape, built here and kept in ``lineage_events``
(docs/decisions/0004-lineage-events.md says why not the ``openlineage-python`` client): a job run emits
START and COMPLETE (or FAIL / ABORT) with its input datasets (name ``<dataset>@v<version>``, schema facet
with the granted columns) and its outputs; a release emits COMPLETE with the frozen job outputs as inputs
and the released files as outputs. :func:`graph` walks them back from a release; :func:`mermaid` and
:func:`svg` draw it (server-side, no CDN).
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from opdomain.egress.airlock_models import LineageEvent
from opdomain.runtime import Runtime

NAMESPACE = "opdomain"
PRODUCER = "https://opdomain.local/opdomain"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-0-1/{name}.json"


def run_id(object_id: str) -> str:
    """A UUID for a job or release id (32 hex digits)."""
    try:
        return str(uuid.UUID(hex=object_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, object_id))


def _facet(name: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_URL.format(name=name), **body}


def dataset(name: str, fields: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    cols = list(fields)
    if cols:
        facets["schema"] = _facet("SchemaDatasetFacet", fields=[{"name": c} for c in cols])
    facets.update(extra)
    return {"namespace": NAMESPACE, "name": name, "facets": facets}


def run_event(event_type: str, *, object_id: str, job_name: str, inputs: list[dict[str, Any]],
              outputs: list[dict[str, Any]], at: datetime | None = None, job_facets: Mapping[str, Any] | None = None,
              run_facets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": (at or datetime.now(UTC)).replace(tzinfo=UTC).isoformat(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id(object_id), "facets": dict(run_facets or {})},
        "job": {"namespace": NAMESPACE, "name": job_name, "facets": dict(job_facets or {})},
        "inputs": inputs,
        "outputs": outputs,
    }


def record(rt: Runtime, s: Any, event: dict[str, Any], *, grant_id: str, subject: str) -> None:
    s.add(LineageEvent(run_id=event["run"]["runId"], job_name=event["job"]["name"], event_type=event["eventType"],
                       grant_id=grant_id, subject=subject, event=json.dumps(event, ensure_ascii=False,
                                                                            sort_keys=True)))


def on_job_finished(rt: Runtime, job_id: str, status: str = "", **_: Any) -> None:
    """``job.finished`` handler: START and the final event of a job run."""
    from opdomain.compute.jobs import load_job
    from opdomain.lifecycle.grants import load_grant

    job = load_job(rt, job_id)
    grant = load_grant(rt, job.grant_id)
    name = f"grant/{job.grant_id}/job/{job.name}"
    inputs = [dataset(f"{d}@{'v' if not str(v).startswith('dev') else ''}{v}",
                      grant.columns_of(d, visible_only=True)) for d, v in sorted(job.inputs.items())]
    outputs = [dataset(f"job/{job_id}/{n}", label=_facet("OutputLabelFacet", label=o["label"], kind=o["kind"],
                                                          sha256=o["sha256"]))
               for n, o in sorted(job.outputs.items())]
    job_facets = {"sourceCodeLocation": _facet("SourceCodeLocationJobFacet", type="opdomain-job",
                                               url=f"opdomain://jobs/{job_id}", version=job.code_digest),
                  "jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="OPDOMAIN",
                                    jobType="JOB")}
    final = {"succeeded": "COMPLETE", "failed": "FAIL", "cancelled": "ABORT"}.get(status or job.status, "OTHER")
    run_facets = {"environment": _facet("EnvironmentRunFacet", environment=job.environment,
                                        code_digest=job.code_digest, submitted_by=job.submitted_by)}
    with rt.store.session() as s:
        record(rt, s, run_event("START", object_id=job_id, job_name=name, inputs=inputs, outputs=[],
                                at=job.started_at, job_facets=job_facets, run_facets=run_facets),
               grant_id=job.grant_id, subject=job_id)
        record(rt, s, run_event(final, object_id=job_id, job_name=name, inputs=inputs, outputs=outputs,
                                at=job.finished_at, job_facets=job_facets, run_facets=run_facets),
               grant_id=job.grant_id, subject=job_id)


def events(rt: Runtime, subject: str) -> list[dict[str, Any]]:
    with rt.store.session() as s:
        rows = s.scalars(select(LineageEvent).where(LineageEvent.subject == subject).order_by(LineageEvent.id))
        return [json.loads(r.event) for r in rows]


def graph(rt: Runtime, release_id: str) -> dict[str, Any]:
    """Nodes and edges from a release back to its jobs, their code and the datasets (with columns) read."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    release_events = [e for e in events(rt, release_id) if e["eventType"] == "COMPLETE"]
    rel = f"release:{release_id}"
    nodes[rel] = {"kind": "release", "label": f"release {release_id[:8]}"}
    jobs: set[str] = set()
    for e in release_events:
        for o in e["outputs"]:
            nodes[f"file:{o['name']}"] = {"kind": "file", "label": o["name"].rsplit("/", 1)[-1]}
            edges.append((rel, f"file:{o['name']}"))
        for i in e["inputs"]:
            key = f"output:{i['name']}"
            nodes[key] = {"kind": "output", "label": i["name"].split("/", 2)[-1]}
            edges.append((key, rel))
            parts = i["name"].split("/")
            if len(parts) >= 2 and parts[0] == "job":
                jobs.add(parts[1])
                edges.append((f"job:{parts[1]}", key))
    for job_id in sorted(jobs):
        done = [e for e in events(rt, job_id) if e["eventType"] != "START"]
        if not done:
            continue
        e = done[-1]
        code = e["job"]["facets"].get("sourceCodeLocation", {}).get("version", "")
        nodes[f"job:{job_id}"] = {"kind": "job", "label": f"{e['job']['name'].rsplit('/', 1)[-1]} ({job_id[:8]})"}
        nodes[f"code:{code}"] = {"kind": "code", "label": f"code {code[:12]}"}
        edges.append((f"code:{code}", f"job:{job_id}"))
        for i in e["inputs"]:
            cols = [f["name"] for f in i["facets"].get("schema", {}).get("fields", [])]
            nodes[f"dataset:{i['name']}"] = {"kind": "dataset", "label": i["name"], "columns": cols}
            edges.append((f"dataset:{i['name']}", f"job:{job_id}"))
    return {"nodes": nodes, "edges": sorted(set(edges))}


def mermaid(g: Mapping[str, Any]) -> str:
    ids = {k: f"n{i}" for i, k in enumerate(g["nodes"])}
    lines = ["flowchart LR"]
    for k, n in g["nodes"].items():
        label = n["label"] + (f"<br/>{', '.join(n.get('columns', []))}" if n.get("columns") else "")
        lines.append(f'  {ids[k]}["{label.replace(chr(34), "")}"]')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in g["edges"] if a in ids and b in ids]
    return "\n".join(lines)


_COLUMNS = ("code", "dataset", "job", "output", "release", "file")
_COLOURS = {"code": "#eef", "dataset": "#efe", "job": "#ffe", "output": "#fef", "release": "#fee", "file": "#eff"}


def svg(g: Mapping[str, Any]) -> str:
    """A plain left-to-right SVG of the graph: one column per kind of node (no script, no external asset)."""
    w, h, gap_x, gap_y = 210, 44, 40, 14
    place: dict[str, tuple[int, int]] = {}
    rows: dict[str, int] = {}
    for k, n in g["nodes"].items():
        col = _COLUMNS.index(n["kind"]) if n["kind"] in _COLUMNS else len(_COLUMNS)
        if n["kind"] == "code":
            col = 0
        r = rows.get(n["kind"], 0)
        rows[n["kind"]] = r + 1
        place[k] = (10 + col * (w + gap_x), 10 + r * (h + gap_y))
    width = 20 + len(_COLUMNS) * (w + gap_x)
    height = 20 + max(rows.values() or [1]) * (h + gap_y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img">']
    for a, b in g["edges"]:
        if a in place and b in place:
            (x1, y1), (x2, y2) = place[a], place[b]
            parts.append(f'<line x1="{x1 + w}" y1="{y1 + h // 2}" x2="{x2}" y2="{y2 + h // 2}" stroke="#888" '
                         'marker-end="url(#arrow)"/>')
    parts.insert(1, '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
                    '<path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>')
    for k, n in g["nodes"].items():
        x, y = place[k]
        cols = ", ".join(n.get("columns", []))
        parts.append(f'<g><title>{html.escape(n["label"] + (": " + cols if cols else ""))}</title>'
                     f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{_COLOURS.get(n["kind"], "#fff")}" '
                     f'stroke="#555"/><text x="{x + 8}" y="{y + 17}">{html.escape(n["kind"])}: '
                     f'{html.escape(n["label"][:30])}</text>'
                     f'<text x="{x + 8}" y="{y + 33}" fill="#555">{html.escape(cols[:34])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
