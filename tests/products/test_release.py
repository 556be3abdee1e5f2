"""Release, download, verify and trace end to end (R1.6b, R4.5a, R5.1b, R6.10): a legitimate aggregate
output passes checks and two reviews and comes out signed and traceable; an unreleased output cannot be
downloaded; only the recipient downloads; an altered file or manifest is detected; an approval is void
when the frozen file changed; a leaked copy names its release and recipient."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.egress import airlock, lineage
from opdomain.egress.airlock_models import AirlockFile
from opdomain.errors import Conflict, NotFound, PermissionDenied
from opdomain.products import service as products
from tests.jobs.conftest import CONSENTING, Airlocked
from tests.jobs.helpers import rating_definition, run


def _approved(a: Airlocked, outputs: tuple[str, ...]) -> tuple[str, str]:
    job = run(a.rt, a.grant.id, rating_definition())
    assert job.status == "succeeded", job.log
    analyst = a.who("analyst")
    req = airlock.create_request(a.rt, analyst, a.grant.id, title="评级", recipient="bank1", product_name="评级")
    for o in outputs:
        airlock.add_file(a.rt, analyst, req["id"], job_id=job.id, output=o, context="c", controls="k=10")
    airlock.submit_request(a.rt, analyst, req["id"])
    for reviewer in ("reviewer1", "reviewer2"):
        for o in outputs:
            airlock.vote(a.rt, a.who(reviewer), req["id"], o, "approve")
        airlock.submit_review(a.rt, a.who(reviewer), req["id"])
    airlock.decide(a.rt, a.who("reviewer1"), req["id"], "approve")
    return req["id"], job.id


def test_aggregate_output_is_released_signed_and_traceable(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, job_id = _approved(a, ("by_scale.csv", "grade_means.csv"))
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    folder = Path(a.rt.settings.data_dir / "releases" / rel.id)
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert manifest["grant"]["id"] == a.grant.id and manifest["job"][0]["id"] == job_id
    assert {r["username"] for r in manifest["reviewers"]} == {"reviewer1", "reviewer2"}
    assert manifest["recipient"]["organization"] == "bank1" and manifest["code_digest"]
    assert products.verify_release(a.rt, a.who("auditor"), rel.id)["ok"]
    data, info = products.download(a.rt, a.who("bank"), rel.id, "grade_means.csv")
    assert info["recipient_id"] == "bank1/bank"
    assert products.trace(a.rt, a.who("admin"), data, "leak.csv")["attributed"]["release_id"] == rel.id
    g = lineage.graph(a.rt, rel.id)
    kinds = {n["kind"] for n in g["nodes"].values()}
    assert {"release", "job", "code", "dataset", "file"} <= kinds
    assert "eit.mu_efficiency@v1" in lineage.mermaid(g) and lineage.svg(g).startswith("<svg")
    assert airlock.get_request(a.rt, a.who("analyst"), req_id)["status"] == "released"


def test_rating_list_download_is_watermarked_and_a_partial_leak_is_traced(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, _ = _approved(a, ("rating_list.csv",))
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    data, _ = products.download(a.rt, a.who("bank"), rel.id, "rating_list.csv")
    table = pacsv.read_csv(io.BytesIO(data))
    assert table.column_names == ["uscc", "category", "grade"]
    real = set(a.usccs[:CONSENTING])
    listed = set(table.column("uscc").to_pylist())
    assert real <= listed and not (listed - real) & set(a.usccs[CONSENTING:])  # no non-consenting subject
    buf = io.BytesIO()
    pacsv.write_csv(table.slice(3, 70), buf)  # a leaked excerpt, re-written
    found = products.trace(a.rt, a.who("auditor"), buf.getvalue(), "excerpt.csv")["attributed"]
    assert found["release_id"] == rel.id and found["recipient_id"] == "bank1/bank"
    assert search(a.rt.store, AuditFilter(action="product.trace", limit=5))


def test_only_the_recipient_downloads_and_never_an_unreleased_output(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, _ = _approved(a, ("by_scale.csv",))
    with pytest.raises(NotFound):
        products.download(a.rt, a.who("bank"), req_id, "by_scale.csv")  # approved but not released
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    with pytest.raises(PermissionDenied) as info:
        products.download(a.rt, a.who("opadmin"), rel.id, "by_scale.csv")
    assert info.value.code == "product.not_recipient"
    with pytest.raises(NotFound):
        products.download(a.rt, a.who("bank"), rel.id, "scores.parquet")
    refused = search(a.rt.store, AuditFilter(action="product.download", outcome="refused", limit=10))
    assert len(refused) >= 3


def test_a_file_altered_after_release_is_detected_and_refused(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, _ = _approved(a, ("by_scale.csv",))
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    folder = a.rt.settings.data_dir / "releases" / rel.id
    (folder / "by_scale.csv").write_text("category,enterprises\n规上,1\n", encoding="utf-8")
    result = products.verify_release(a.rt, a.who("auditor"), rel.id)
    assert not result["ok"] and any("by_scale.csv" in p for p in result["problems"])
    with pytest.raises(Conflict) as info:
        products.download(a.rt, a.who("bank"), rel.id, "by_scale.csv")
    assert info.value.code == "product.tampered"


def test_an_altered_manifest_breaks_its_signature(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, _ = _approved(a, ("by_scale.csv",))
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    path = a.rt.settings.data_dir / "releases" / rel.id / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"bank1"', b'"bank2"'))
    assert not products.verify_release(a.rt, a.who("auditor"), rel.id)["ok"]


def test_an_approval_is_void_when_the_frozen_file_changed(airlocked: Airlocked) -> None:
    from opdomain.egress.airlock_files import _key_context
    from opdomain.store import vault

    a = airlocked
    req_id, _ = _approved(a, ("by_scale.csv",))
    with a.rt.store.session() as s:
        af = s.query(AirlockFile).filter(AirlockFile.output_name == "by_scale.csv").one()
        key = vault.unwrap_key(a.rt.master_key, af.wrapped_key, _key_context(af.id))
        path = a.rt.settings.data_dir / af.file
    swapped = a.rt.settings.work_dir / "swap.csv"
    swapped.write_text("category,enterprises\n规上,99\n", encoding="utf-8")
    vault.encrypt_file(swapped, path, key)
    with pytest.raises(Conflict) as info:
        products.release_request(a.rt, a.who("analyst"), req_id)
    assert info.value.code == "product.approval_void"
    assert airlock.get_request(a.rt, a.who("analyst"), req_id)["status"] == "approved"


def test_grant_end_disables_its_releases(airlocked: Airlocked) -> None:
    a = airlocked
    req_id, _ = _approved(a, ("by_scale.csv",))
    rel = products.release_request(a.rt, a.who("analyst"), req_id)
    a.rt.publish("grant.ended", grant_id=a.grant.id, reason="revoked")
    with pytest.raises(Conflict) as info:
        products.download(a.rt, a.who("bank"), rel.id, "by_scale.csv")
    assert info.value.code == "product.release_disabled"
