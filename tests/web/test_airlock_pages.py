"""The jobs, egress review (数据出域审核) and products pages: permissions, CSRF, what each role sees.

Rules R1.6b (review before release), R4.4a (real-data outputs only through the airlock), R4.5a (download by
the recipient only), R5.1b (audited). The pages call the services; these tests check that the pages show
what the services decide: a reviewer sees only their own votes until both reviews are in, the findings of
every file, a download link only for the recipient.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from opdomain.audit.log import SYSTEM
from opdomain.audit.query import AuditFilter, search
from opdomain.compute.jobs import JobView
from opdomain.egress import airlock
from opdomain.egress.airlock_files import declare_output
from opdomain.identity.service import create_user, principal_for
from opdomain.lifecycle.grants import GrantView
from opdomain.products.events import install
from tests.conftest import resident_id
from tests.jobs.helpers import rating_definition, run
from tests.web.test_workspace_support import WorkspaceDomain, as_, token_of, ws  # noqa: F401

FILES = ("rating_list.csv", "by_scale.csv")


@dataclass
class Airlock:
    ws: WorkspaceDomain
    grant: GrantView
    job: JobView

    def who(self, username: str):  # type: ignore[no-untyped-def]
        return principal_for(self.ws.rt, username)

    def request(self, title: str = "评级名单", files: tuple[str, ...] = FILES, submit: bool = True) -> dict[str, Any]:
        """A release request of the analyst with ``files`` of the rating job, submitted."""
        rt, analyst = self.ws.rt, self.who("analyst")
        req = airlock.create_request(rt, analyst, self.grant.id, title=title, recipient="bank1",
                                     product_name=title)
        for name in files:
            airlock.add_file(rt, analyst, req["id"], job_id=self.job.id, output=name, context=f"{name} 的背景",
                             controls="k=10，仅已授权企业")
        return airlock.submit_request(rt, analyst, req["id"]) if submit else req


def add_reviewer2(ws: WorkspaceDomain) -> None:  # noqa: F811
    try:
        principal_for(ws.rt, "reviewer2")
    except Exception:  # noqa: BLE001 - not there yet
        create_user(ws.rt, SYSTEM, username="reviewer2", password="pw-reviewer2-0123456789", real_name="测试审核二",
                    resident_id=resident_id(50), phone="13900000050", role="reviewer", organization_code="wzdata")


def make_airlock(ws: WorkspaceDomain) -> Airlock:  # noqa: F811
    """The grant (consent required), the declared rating list and the rating job run on real data."""
    install(ws.rt)
    add_reviewer2(ws)
    grant = ws.grant(consent=("enterprise",))
    declare_output(ws.rt, principal_for(ws.rt, "admin"), grant.id, name="rating_list", subject_type="enterprise",
                   columns=["uscc", "category", "grade"])
    job = run(ws.rt, grant.id, rating_definition())
    assert job.status == "succeeded", job.log
    return Airlock(ws, grant, job)


@pytest.fixture(scope="module")
def al(ws: WorkspaceDomain) -> Airlock:  # noqa: F811
    return make_airlock(ws)


def _post(client, page: str, action: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(action, data={"csrf_token": token_of(client, page), **data})


def _vote(client, req_id: str, name: str, vote: str = "approve", comment: str = ""):  # type: ignore[no-untyped-def]
    return _post(client, f"/airlock/{req_id}", f"/airlock/{req_id}/votes", file=name, vote=vote, comment=comment)


def _release(a: Airlock) -> str:
    req = a.request("发布测试", files=("by_scale.csv",))
    for reviewer in ("reviewer1", "reviewer2"):
        airlock.vote(a.ws.rt, a.who(reviewer), req["id"], "by_scale.csv", "approve")
        airlock.submit_review(a.ws.rt, a.who(reviewer), req["id"])
    airlock.decide(a.ws.rt, a.who("reviewer1"), req["id"], "approve")
    return req["id"]


# -- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "path", "status"), [
    ("analyst", "/jobs", 200), ("auditor", "/jobs", 200), ("reviewer1", "/jobs", 403), ("bank", "/jobs", 403),
    ("analyst", "/airlock", 200), ("reviewer1", "/airlock", 200), ("bank", "/airlock", 403),
    ("bank", "/products", 200), ("reviewer1", "/products", 200),
    ("auditor", "/trace", 200), ("admin", "/trace", 200), ("analyst", "/trace", 403), ("bank", "/trace", 403),
])
def test_pages_follow_the_permissions(al, as_, user, path, status):  # noqa: F811
    page = as_(user).get(path)
    assert page.status_code == status
    assert page.headers["cache-control"] == "no-store"


def test_nav_items_by_permission(al, as_):  # noqa: F811
    from tests.web.test_workspace_support import nav_keys

    assert {"jobs", "airlock", "products"} <= nav_keys(as_("analyst").get("/").text)
    assert "trace" not in nav_keys(as_("analyst").get("/").text)
    reviewer = nav_keys(as_("reviewer1").get("/").text)
    assert "airlock" in reviewer and "jobs" not in reviewer
    assert {"products", "trace"} <= nav_keys(as_("auditor").get("/").text)
    assert nav_keys(as_("bank").get("/").text) & {"jobs", "airlock", "trace"} == set()


def test_a_reviewer_cannot_author_and_a_consumer_cannot_review(al, as_):  # noqa: F811
    req = al.request("权限")
    reviewer = as_("reviewer1")
    assert _post(reviewer, f"/airlock/{req['id']}", f"/airlock/{req['id']}/submit").status_code == 403
    analyst = as_("analyst")
    assert _vote(analyst, req["id"], "by_scale.csv").status_code == 403
    refused = search(al.ws.rt.store, AuditFilter(actor="analyst", outcome="refused", limit=50))
    assert any(r.object_id == f"POST /airlock/{req['id']}/votes" for r in refused)  # the guard's refusal, audited


# -- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["votes", "review", "decision", "submit", "withdraw", "release", "files"])
def test_every_airlock_form_needs_the_csrf_token(al, as_, action):  # noqa: F811
    req = al.request(f"csrf-{action}", files=("by_scale.csv",))
    user = "reviewer1" if action in ("votes", "review", "decision") else "analyst"
    response = as_(user).post(f"/airlock/{req['id']}/{action}", data={"file": "by_scale.csv", "vote": "approve"})
    assert response.status_code == 403
    assert search(al.ws.rt.store, AuditFilter(action="csrf.check", object_id=f"POST /airlock/{req['id']}/{action}",
                                              limit=5))
    assert airlock.get_request(al.ws.rt, al.who("analyst"), req["id"], audit_view=False)["reviews"] == []


def test_job_and_product_forms_need_the_csrf_token(al, as_):  # noqa: F811
    analyst = as_("analyst")
    assert analyst.post(f"/workspaces/{al.grant.id}/jobs", data={"definition": "{}"}).status_code == 403
    assert analyst.post(f"/jobs/{al.job.id}/cancel").status_code == 403
    assert as_("auditor").post("/trace", files={"file": ("x.csv", b"a\n1\n")}).status_code == 403


# -- the request page ---------------------------------------------------------------------------


def test_the_request_page_shows_files_context_controls_and_findings(al, as_):  # noqa: F811
    req = al.request("检查结果")
    view = airlock.get_request(al.ws.rt, al.who("analyst"), req["id"], audit_view=False)
    page = as_("reviewer1").get(f"/airlock/{req['id']}")
    assert page.status_code == 200
    text = page.text
    for f in view["files"]:
        assert f'data-file="{f["name"]}"' in text
        assert f"{f['name']} 的背景" in text and "k=10，仅已授权企业" in text
        for x in f["findings"]:
            assert f'data-code="{x["code"]}"' in text
            assert x["message"] in text
    assert 'data-testid="summaries"' in text and "仅保留已授权企业的行" in text  # the consent filter's note
    assert 'data-testid="vote-form"' in text  # the reviewer may vote

    client = as_("reviewer2")
    client.get("/lang/en")
    english = client.get(f"/airlock/{req['id']}").text
    some = next(x for f in view["files"] for x in f["findings"])
    assert some["message_en"] in english and "Automated checks" in english
    assert search(al.ws.rt.store, AuditFilter(action="airlock.view", actor="reviewer2", limit=5))


def test_a_file_failing_the_checks_blocks_submission_and_the_page_says_why(al, as_):  # noqa: F811
    from tests.jobs.helpers import script_job

    src = ("import pyarrow.parquet as pq, pyarrow.csv as c\n"
           "t = pq.read_table('/in/tax.annual_tax.parquet').select(['uscc', 'total_tax'])\n"
           "c.write_csv(t, '/out/tax.csv')\n")
    job = run(al.ws.rt, al.grant.id, script_job(src, [{"name": "tax.csv", "label": "releasable", "kind": "table"}]))
    analyst = as_("analyst")
    created = _post(analyst, "/airlock", "/airlock", grant_id=al.grant.id, title="税收明细", recipient="bank1",
                    product_name="税收明细", product_type="data_package")
    assert created.status_code == 303
    path = created.headers["location"]
    page = analyst.get(path).text
    assert f'value="{job.id}/tax.csv"' in page and "scores.parquet" not in page  # internal outputs not offered
    added = _post(analyst, path, f"{path}/files", source=f"{job.id}/tax.csv", context="明细", controls="无")
    assert added.status_code == 303
    page = analyst.get(path).text
    assert 'data-outcome="fail"' in page
    refused = _post(analyst, path, f"{path}/submit")
    assert refused.status_code == 422 and "airlock.checks_failed" in refused.text and "未通过自动检查" in refused.text


def test_reviewers_vote_independently_then_see_each_other(al, as_):  # noqa: F811
    req = al.request("独立审核")
    rid = req["id"]
    r1, r2 = as_("reviewer1"), as_("reviewer2")

    for name in FILES:
        assert _vote(r1, rid, name, "approve", comment=f"一号意见 {name}").status_code == 303
    page2 = r2.get(f"/airlock/{rid}").text
    assert 'data-reviewer="reviewer1"' not in page2 and "一号意见" not in page2
    page1 = r1.get(f"/airlock/{rid}").text
    assert 'data-visible="own"' in page1 and 'data-reviewer="reviewer1"' in page1

    assert _post(r1, f"/airlock/{rid}", f"/airlock/{rid}/review").status_code == 303
    _vote(r2, rid, FILES[0], "approve")
    incomplete = _post(r2, f"/airlock/{rid}", f"/airlock/{rid}/review")
    assert incomplete.status_code == 422 and "airlock.review_incomplete" in incomplete.text
    _vote(r2, rid, FILES[1], "changes", comment="二号：请合并小类")
    assert "一号意见" not in r2.get(f"/airlock/{rid}").text  # still independent until r2 submits
    assert _post(r2, f"/airlock/{rid}", f"/airlock/{rid}/review").status_code == 303

    for client in (r1, r2):
        text = client.get(f"/airlock/{rid}").text
        assert 'data-visible="all"' in text and "一号意见" in text and "二号：请合并小类" in text
        assert 'data-testid="decision-form"' in text
    refused = _post(r1, f"/airlock/{rid}", f"/airlock/{rid}/decision", decision="approve", reason="")
    assert refused.status_code == 422 and "airlock.approval_incomplete" in refused.text
    returned = _post(r1, f"/airlock/{rid}", f"/airlock/{rid}/decision", decision="return", reason="请修改分类")
    assert returned.status_code == 303
    assert "退回修改" in as_("analyst").get(f"/airlock/{rid}").text


def test_the_author_withdraws(al, as_):  # noqa: F811
    req = al.request("撤回", files=("by_scale.csv",))
    analyst = as_("analyst")
    assert _post(analyst, f"/airlock/{req['id']}", f"/airlock/{req['id']}/withdraw").status_code == 303
    assert 'data-status="withdrawn"' in analyst.get(f"/airlock/{req['id']}").text


# -- products -----------------------------------------------------------------------------------


def test_release_then_download_only_for_the_recipient_then_trace(al, as_):  # noqa: F811
    rid = _release(al)
    analyst = as_("analyst")
    page = analyst.get(f"/airlock/{rid}").text
    assert 'data-testid="release"' in page
    released = _post(analyst, f"/airlock/{rid}", f"/airlock/{rid}/release")
    assert released.status_code == 303
    product = released.headers["location"]
    release_id = product.rsplit("/", 1)[-1]

    bank = as_("bank")
    assert release_id in bank.get("/products").text
    page = bank.get(product).text
    assert 'data-testid="download"' in page
    for user in ("admin", "opadmin", "analyst", "auditor"):
        other = as_(user).get(product)
        assert other.status_code == 200 and 'data-testid="download"' not in other.text
    refused = as_("opadmin").get(f"{product}/files/by_scale.csv")  # holds products.download, not the recipient
    assert refused.status_code == 403 and "product.not_recipient" in refused.text

    copy = bank.get(f"{product}/files/by_scale.csv")
    assert copy.status_code == 200 and copy.headers["content-disposition"].startswith("attachment")

    admin = as_("admin")
    page = admin.get(product).text
    manifest = re.search(r'<pre class="sql-full" data-testid="manifest">(.*?)</pre>', page, re.S).group(1)
    assert "&#34;" in manifest or "&quot;" in manifest  # pretty-printed JSON, escaped
    assert f'src="{product}/lineage.svg"' in page
    svg = admin.get(f"{product}/lineage.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "<script" not in svg.text and "by_scale.csv" in svg.text
    assert as_("bank").get(f"{product}/lineage.svg").status_code == 403  # lineage.read: not consumers

    verified = _post(admin, product, f"{product}/verify")
    assert verified.status_code == 200 and 'data-testid="verify-ok"' in verified.text

    auditor = as_("auditor")
    traced = auditor.post("/trace", data={"csrf_token": token_of(auditor, "/trace")},
                          files={"file": ("leak.csv", copy.content, "text/csv")})
    assert traced.status_code == 200 and 'data-testid="attributed"' in traced.text
    assert release_id in traced.text and "bank1/bank" in traced.text


# -- jobs ---------------------------------------------------------------------------------------


def test_jobs_pages_show_status_digest_outputs_and_log(al, as_):  # noqa: F811
    analyst = as_("analyst")
    listing = analyst.get("/jobs").text
    assert f'data-job="{al.job.id}"' in listing and al.job.code_digest[:12] in listing
    page = analyst.get(f"/jobs/{al.job.id}").text
    assert al.job.code_digest in page and "rating_list.csv" in page and "可申请出域" in page and "内部" in page
    for o in al.job.outputs.values():
        assert o["sha256"][:16] in page
    assert 'data-testid="log"' in page
    assert 'data-testid="cancel"' not in page  # finished


def test_submit_a_job_and_cancel_it(al, as_):  # noqa: F811
    analyst = as_("analyst")
    gpage = f"/workspaces/{al.grant.id}/jobs"
    bad = _post(analyst, gpage, gpage, definition="{not json", environment="dev")
    assert bad.status_code == 422 and "作业定义不是有效的 JSON 对象" in bad.text and "{not json" in bad.text
    definition = json.dumps({"name": "by-scale", "actions": [
        {"name": "n", "type": "sql", "inputs": ["eit.mu_efficiency"],
         "sql": "SELECT count(*) AS n FROM eit.mu_efficiency",
         "outputs": [{"name": "n.csv", "label": "releasable", "kind": "table"}]}]})
    submitted = _post(analyst, gpage, gpage, definition=definition, environment="dev")
    assert submitted.status_code == 303
    job_path = submitted.headers["location"]
    page = analyst.get(job_path).text
    assert 'data-status="queued"' in page and 'data-testid="cancel"' in page
    assert as_("auditor").get(job_path).status_code == 200
    assert 'data-testid="cancel"' not in as_("auditor").get(job_path).text
    cancelled = _post(analyst, job_path, f"{job_path}/cancel")
    assert cancelled.status_code == 303
    assert 'data-status="cancelled"' in analyst.get(job_path).text
    refused = _post(analyst, gpage, gpage, definition=json.dumps({"name": "x", "actions": [
        {"name": "n", "type": "sql", "inputs": ["nope.nothing"], "sql": "SELECT 1",
         "outputs": [{"name": "n.csv", "label": "releasable"}]}]}), environment="domain")
    assert refused.status_code == 422 and 'data-testid="error"' in refused.text
