"""Releases (发布): an approved release request becomes a data product version with a signed manifest;
its recipient downloads watermarked copies; a leaked copy is traced (rules 一.(六) R1.6b, 四.(五) R4.5a,
五.(一) R5.1b, 六.(十) R6.10; SPEC §6).

- :func:`release_request`: re-reads every frozen file and checks it against the digest both reviewers
  approved (any change voids the approval), writes the reviewed files and ``manifest.json`` (grant, jobs,
  code digests, inputs, checks, reviewers, files with SHA-256 and SM3, recipient, licence) signed with the
  domain's release key (Ed25519) as ``manifest.sig``; records the product version and a lineage event.
- :func:`download`: only a person of the recipient organization; the release folder is verified against
  its signed manifest first (an altered file is refused and named); every table is watermarked for the
  person downloading (``privacy.watermark``) and the copy's digest recorded.
- :func:`trace`: names the release and recipient of a suspect copy (exact digest, else the watermark).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import func, select

from opdomain.audit.log import SYSTEM
from opdomain.egress import airlock_files, lineage
from opdomain.egress import airlock_policy as rules
from opdomain.egress.airlock import transition
from opdomain.egress.airlock_models import AirlockFile, ReleaseRequest, RequestFile, Review, Vote
from opdomain.egress.airlock_policy import RequestStatus, VoteFacts
from opdomain.egress.manifest import build_manifest, file_digests, sign_manifest, verify_files, verify_manifest
from opdomain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import policy as grant_rules
from opdomain.lifecycle.grants import load_grant
from opdomain.privacy import watermark
from opdomain.products import messages as msg
from opdomain.products.models import Download, Product, Release
from opdomain.runtime import Runtime
from opdomain.store import keys, vault
from opdomain.store.db import new_id, utcnow

RELEASE_KEY = "release"
TABLE_SUFFIXES = (".csv", ".parquet")


def release_key(rt: Runtime):  # type: ignore[no-untyped-def]
    return keys.signing_key(rt.settings.keys_dir, RELEASE_KEY)


def watermark_secret(rt: Runtime) -> bytes:
    """The domain's watermark key, derived from the master key (never stored, never shown)."""
    return hmac.new(rt.master_key, b"opdomain watermark secret v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class ReleaseView:
    id: str
    product_id: str
    product_name: str
    product_type: str
    version: int
    grant_id: str
    request_id: str
    recipient: str
    status: str
    status_reason: str
    released_by: str
    released_at: str
    files: list[dict[str, Any]]
    manifest_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _view(s: Any, r: Release) -> ReleaseView:
    p = s.get(Product, r.product_id)
    manifest = json.loads((Path(r.folder) / "manifest.json").read_text("utf-8")) if \
        (Path(r.folder) / "manifest.json").exists() else {"files": []}
    files = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"],
              "kind": manifest.get("checks", {}).get(f["path"], {}).get("kind")} for f in manifest.get("files", [])]
    return ReleaseView(r.id, r.product_id, p.name, p.type, r.version, r.grant_id, r.request_id, r.recipient, r.status,
                       r.status_reason, r.released_by, r.released_at.isoformat(), files, r.manifest_sha256)


def _derivation(af: AirlockFile | None) -> dict[str, Any]:
    return json.loads(af.derivation) if af is not None else {}


def _folder(rt: Runtime, release: Release) -> Path:
    return Path(release.folder) if Path(release.folder).is_absolute() else rt.settings.data_dir / release.folder


def release_request(rt: Runtime, principal: Principal, request_id: str) -> ReleaseView:
    """approved → released: the product version, the signed manifest, the lineage event; audited."""
    from opdomain.compute.jobs import load_job

    authorize(rt, principal, "airlock.release", object_type="release_request", object_id=request_id)
    try:
        with rt.store.session() as s:
            req = s.get(ReleaseRequest, request_id)
            if req is None:
                raise NotFound("airlock.request_not_found", msg.RELEASE_NOT_FOUND.format(release_id=request_id))
            if principal.username != req.author and principal.role != "authority_admin":
                raise PermissionDenied("product.not_releaser", msg.NOT_RELEASER)
            if req.status != RequestStatus.APPROVED.value:
                raise Conflict("product.not_approved", msg.NOT_RELEASED.format(request_id=request_id,
                                                                                status=req.status))
            rows = list(s.scalars(select(RequestFile).where(RequestFile.request_id == request_id)))
            submitted = {r.reviewer: r.submitted for r in s.scalars(
                select(Review).where(Review.request_id == request_id, Review.round == req.round))}
            by_id = {f.id: f.name for f in rows}
            votes: dict[str, list[VoteFacts]] = {}
            vote_rows = list(s.scalars(select(Vote).where(Vote.request_id == request_id)))
            for v in vote_rows:
                votes.setdefault(by_id[v.file_id], []).append(VoteFacts(v.reviewer, v.vote, v.sha256))
            frozen = {f.name: s.get(AirlockFile, f.airlock_file_id) for f in rows}
            snapshot = {"grant_id": req.grant_id, "recipient": req.recipient, "product": req.product_name,
                        "type": req.product_type, "author": req.author}
        contents: dict[str, bytes] = {}
        for f in rows:
            try:
                data = airlock_files.read_frozen(rt, f.airlock_file_id)
            except vault.IntegrityError as exc:
                raise Conflict("product.approval_void", msg.APPROVAL_VOID.format(name=f.name)) from exc
            actual = hashlib.sha256(data).hexdigest()
            if actual != f.sha256:
                raise Conflict("product.approval_void", msg.APPROVAL_VOID.format(name=f.name))
            contents[f.name] = data
        problems = rules.approval_problems({f.name: hashlib.sha256(contents[f.name]).hexdigest() for f in rows},
                                           votes, submitted)
        if problems:
            raise Conflict("product.approval_void", msg.APPROVAL_VOID.format(name=", ".join(problems)))
    except DomainError as exc:
        rt.audit.record_refusal(principal, "product.release", "release_request", request_id, reason=exc.code,
                                details={"message_en": exc.message.en})
        raise
    grant = load_grant(rt, snapshot["grant_id"])
    release_id = new_id()
    folder = rt.settings.data_dir / "releases" / release_id
    folder.mkdir(parents=True)
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    jobs: dict[str, dict[str, Any]] = {}
    for f in rows:
        af = frozen[f.name]
        if af is not None and af.job_id not in jobs:
            j = load_job(rt, af.job_id)
            jobs[af.job_id] = {"id": j.id, "name": j.name, "code_digest": j.code_digest, "inputs": j.inputs,
                               "submitted_by": j.submitted_by}
    with rt.store.session() as s:
        recipient_org = s.scalar(select(Organization).where(Organization.code == snapshot["recipient"]))
        product = s.scalar(select(Product).where(Product.grant_id == grant.id, Product.name == snapshot["product"]))
        if product is None:
            product = Product(id=new_id(), grant_id=grant.id, name=snapshot["product"], type=snapshot["type"],
                              owner=grant.operator_code)
            s.add(product)
            s.flush()
        version = (s.scalar(select(func.max(Release.version)).where(Release.product_id == product.id)) or 0) + 1
        body = {
            "release_id": release_id,
            "product": {"id": product.id, "name": product.name, "type": product.type, "version": version,
                        "owner": grant.operator_code},
            "grant": {"id": grant.id, "scenario": grant.scenario, "operator": grant.operator_code},
            "job": list(jobs.values()),
            "code_digest": sorted({j["code_digest"] for j in jobs.values()}),
            "inputs": {d: v for j in jobs.values() for d, v in j["inputs"].items()},
            "checks": {f.name: {"kind": f.kind, "outcome": f.outcome,
                                "codes": sorted({x["code"] for x in json.loads(f.report)["findings"]}),
                                "context": f.context, "controls": f.controls,
                                "derivation": _derivation(frozen[f.name])}
                       for f in rows},
            "reviewers": [{"username": r, "votes": {by_id[v.file_id]: v.vote for v in vote_rows if v.reviewer == r}}
                          for r in sorted(submitted)],
            "files": file_digests(folder, list(contents)),
            "recipient": {"organization": snapshot["recipient"],
                          "name": recipient_org.name if recipient_org else snapshot["recipient"]},
            "request": {"id": request_id, "author": snapshot["author"]},
            "licence": {"owner": grant.operator_code, "scenario": grant.scenario,
                        "terms": "仅限授权场景内使用，不得向第三方提供 / use only within the authorized scenario; "
                                 "no provision to third parties (R4.5a, R4.5b, R6.10)"},
            "watermark": {"scheme": watermark.SCHEME, "applied": "per recipient at download"},
            "released_by": principal.username,
            "released_at": utcnow().isoformat(),
        }
        manifest = build_manifest(body)
        signature = sign_manifest(manifest, release_key(rt))
        (folder / "manifest.json").write_bytes(manifest)
        (folder / "manifest.sig").write_text(json.dumps(signature), encoding="utf-8")
        rel = Release(id=release_id, product_id=product.id, version=version, grant_id=grant.id, request_id=request_id,
                      recipient=snapshot["recipient"], folder=str(folder),
                      manifest_sha256=hashlib.sha256(manifest).hexdigest(), released_by=principal.username)
        s.add(rel)
        req = s.get(ReleaseRequest, request_id)
        assert req is not None
        req.release_id = release_id
        transition(rt, s, req, RequestStatus.RELEASED, principal, details={"release": release_id})
        rt.audit.record(s, principal, "product.release", "release", release_id, grant_id=grant.id,
                        details={"request": request_id, "product": product.name, "version": version,
                                 "manifest_sha256": rel.manifest_sha256, "recipient": snapshot["recipient"],
                                 "key_id": signature["key_id"]})
        event = lineage.run_event(
            "COMPLETE", object_id=release_id, job_name=f"grant/{grant.id}/release/{product.name}",
            inputs=[lineage.dataset(f"job/{af.job_id}/{af.output_name}")
                    for af in (frozen[f.name] for f in rows) if af is not None],
            outputs=[lineage.dataset(f"release/{release_id}/{f.name}") for f in rows],
            run_facets={"release": lineage._facet("ReleaseRunFacet", request=request_id, version=version,
                                                  recipient=snapshot["recipient"],
                                                  manifest_sha256=rel.manifest_sha256)})
        lineage.record(rt, s, event, grant_id=grant.id, subject=release_id)
        s.flush()
        return _view(s, rel)


def _load_release(s: Any, release_id: str) -> Release:
    r = s.get(Release, release_id)
    if r is None:
        raise NotFound("product.release_not_found", msg.RELEASE_NOT_FOUND.format(release_id=release_id))
    return r


def get_release(rt: Runtime, principal: Principal, release_id: str) -> ReleaseView:
    authorize(rt, principal, "products.read", object_type="release", object_id=release_id)
    with rt.store.session() as s:
        r = _load_release(s, release_id)
        if principal.organization_kind == "consumer" and principal.organization_code != r.recipient:
            raise NotFound("product.release_not_found", msg.RELEASE_NOT_FOUND.format(release_id=release_id))
        return _view(s, r)


def list_releases(rt: Runtime, principal: Principal) -> list[ReleaseView]:
    authorize(rt, principal, "products.read", object_type="release", object_id="*")
    with rt.store.session() as s:
        stmt = select(Release).order_by(Release.released_at.desc())
        if principal.organization_kind == "consumer":
            stmt = stmt.where(Release.recipient == principal.organization_code)
        return [_view(s, r) for r in s.scalars(stmt)]


def verify_release_folder(rt: Runtime, folder: Path) -> list[str]:
    """Problems of a release folder against its signed manifest (empty when intact)."""
    manifest_path, sig_path = folder / "manifest.json", folder / "manifest.sig"
    if not manifest_path.exists() or not sig_path.exists():
        return ["manifest.json or manifest.sig missing"]
    manifest = manifest_path.read_bytes()
    try:
        signature = json.loads(sig_path.read_text("utf-8"))
    except ValueError:
        return [msg.SIGNATURE_BAD.en]
    problems = [] if verify_manifest(manifest, signature, release_key(rt).public_key()) else [msg.SIGNATURE_BAD.en]
    try:
        problems += [f"{p.code}: {p.path}" for p in verify_files(manifest, folder)]
    except ValueError:
        problems.append("manifest.json is not JSON")
    return problems


def verify_release(rt: Runtime, principal: Principal, release_id: str) -> dict[str, Any]:
    authorize(rt, principal, "products.verify", object_type="release", object_id=release_id)
    with rt.store.session() as s:
        r = _load_release(s, release_id)
        folder = _folder(rt, r)
        problems = verify_release_folder(rt, folder)
        rt.audit.record(s, principal, "product.verify", "release", release_id, grant_id=r.grant_id,
                        outcome="allowed" if not problems else "failed", reason="; ".join(problems)[:500])
    return {"release_id": release_id, "ok": not problems, "problems": problems}


def _read_table(data: bytes, name: str) -> pa.Table:
    if name.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data))
    return pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(strings_can_be_null=False))


def _write_like(table: pa.Table, name: str) -> bytes:
    buf = io.BytesIO()
    if name.endswith(".parquet"):
        pq.write_table(table, buf)
    else:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()


def download(rt: Runtime, principal: Principal, release_id: str, name: str, *,
             today: date | None = None) -> tuple[bytes, dict[str, Any]]:
    """A watermarked copy of one released file for a person of the recipient organization (R4.5a)."""
    authorize(rt, principal, "products.download", object_type="release", object_id=release_id)
    grant_id = None
    try:
        with rt.store.session() as s:
            r = _load_release(s, release_id)
            grant_id = r.grant_id
            if principal.organization_code != r.recipient:
                raise PermissionDenied("product.not_recipient", msg.NOT_RECIPIENT.format(recipient=r.recipient))
            if r.status != "active":
                raise Conflict("product.release_disabled", msg.RELEASE_DISABLED.format(reason=r.status_reason))
            folder = _folder(rt, r)
        grant = load_grant(rt, grant_id)
        status = grant_rules.effective_status(grant.facts, today or date.today()).value
        if status not in ("active", "renewing"):
            raise Conflict("product.release_disabled", msg.RELEASE_DISABLED.format(reason=f"grant {status}"))
        problems = verify_release_folder(rt, folder)
        if problems:
            raise Conflict("product.tampered", msg.TAMPERED.format(problems="; ".join(problems)))
        manifest = json.loads((folder / "manifest.json").read_bytes())
        if name not in {f["path"] for f in manifest["files"]}:
            raise NotFound("product.file_not_found", msg.FILE_NOT_IN_RELEASE.format(name=name))
    except DomainError as exc:
        rt.audit.record_refusal(principal, "product.download", "release", release_id, reason=exc.code,
                                grant_id=grant_id, details={"file": name, "message_en": exc.message.en})
        raise
    data = (folder / name).read_bytes()
    recipient_id = f"{principal.organization_code}/{principal.username}"
    scheme: dict[str, Any] = {"scheme": None}
    if name.endswith(TABLE_SUFFIXES):
        check = manifest["checks"].get(name, {})
        shape = check.get("derivation", {}).get("shape")
        table = _read_table(data, name)
        keys_ = (table.column_names[0],) if check.get("kind") == "per_subject" and shape else None
        marked = watermark.embed(table, secret=watermark_secret(rt), release_id=release_id, recipient_id=recipient_id,
                                 key_columns=keys_)
        data = _write_like(marked, name)
        scheme = {"scheme": watermark.SCHEME, "key_columns": list(keys_ or [])}
    sha = hashlib.sha256(data).hexdigest()
    with rt.store.session() as s:
        s.add(Download(release_id=release_id, file=name, username=principal.username,
                       organization=principal.organization_code, recipient_id=recipient_id, sha256=sha,
                       scheme=json.dumps(scheme)))
        rt.audit.record(s, principal, "product.download", "release", release_id, grant_id=grant_id,
                        details={"file": name, "sha256": sha, "recipient_id": recipient_id, **scheme})
    return data, {"release_id": release_id, "file": name, "sha256": sha, "recipient_id": recipient_id}


def trace(rt: Runtime, principal: Principal, data: bytes, name: str) -> dict[str, Any]:
    """Which release and recipient a (leaked) copy comes from: the exact copy's digest, else the watermark."""
    authorize(rt, principal, "products.trace", object_type="file", object_id=name[:200])
    sha = hashlib.sha256(data).hexdigest()
    with rt.store.session() as s:
        rows = list(s.scalars(select(Download)))
        exact = [{"release_id": d.release_id, "recipient_id": d.recipient_id, "file": d.file,
                  "at": d.at.isoformat()} for d in rows if d.sha256 == sha]
    result: dict[str, Any] = {"sha256": sha, "exact_matches": exact, "attributed": None, "candidates": 0}
    candidates = sorted({(d.release_id, d.recipient_id) for d in rows})
    result["candidates"] = len(candidates)
    if candidates and name.endswith(TABLE_SUFFIXES):
        try:
            table = _read_table(data, name)
        except (pa.ArrowException, ValueError) as exc:
            raise InvalidInput("product.unreadable", msg.UNREADABLE_TABLE.format(why=type(exc).__name__)) from exc
        found = watermark.attribute(watermark.detect(table, secret=watermark_secret(rt), candidates=candidates))
        if found is not None:
            result["attributed"] = {"release_id": found.release_id, "recipient_id": found.recipient_id,
                                    "false_positive_probability": found.false_positive_probability,
                                    "matched_bits": found.matched_bits, "total_bits": found.total_bits,
                                    "decoys_found": found.decoys_found}
    if result["attributed"] is None and len({(e["release_id"], e["recipient_id"]) for e in exact}) == 1:
        result["attributed"] = {"release_id": exact[0]["release_id"], "recipient_id": exact[0]["recipient_id"],
                                "by": "exact copy digest"}
    with rt.store.session() as s:
        rt.audit.record(s, principal, "product.trace", "file", name[:200],
                        details={"sha256": sha, "attributed": result["attributed"], "exact": len(exact)})
    return result


def on_grant_ended(rt: Runtime, grant_id: str, reason: str = "", **_: Any) -> int:
    """``grant.ended`` handler: the grant's releases are disabled, so nothing more is downloaded (R3.9d)."""
    n = 0
    with rt.store.session() as s:
        for r in s.scalars(select(Release).where(Release.grant_id == grant_id, Release.status == "active")):
            r.status, r.status_reason = "disabled", f"grant ended: {reason}"[:500]
            rt.audit.record(s, SYSTEM, "product.disable", "release", r.id, grant_id=grant_id, reason=reason[:500])
            n += 1
    return n
