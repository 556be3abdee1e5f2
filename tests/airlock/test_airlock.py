"""The airlock end to end (R1.6b, R4.2b, R4.4a, R5.1a, R5.1b): files frozen by digest and checked;
hostile outputs refused; per-subject outputs only in the declared shape and only consenting rows; two
independent reviewers, neither the author nor of the operator; votes hidden until both reviews are in;
an approval bound to the digest; every view, vote and decision audited."""

from __future__ import annotations

import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.egress import airlock
from opdomain.egress import airlock_policy as rules
from opdomain.errors import Conflict, InvalidInput, PermissionDenied
from tests.jobs.conftest import CONSENTING, Airlocked
from tests.jobs.helpers import rating_definition, run, script_job


@pytest.fixture
def rating(airlocked: Airlocked):  # type: ignore[no-untyped-def]
    job = run(airlocked.rt, airlocked.grant.id, rating_definition())
    assert job.status == "succeeded", job.log
    return job


def _request(a: Airlocked, title: str = "评级名单") -> dict:
    return airlock.create_request(a.rt, a.who("analyst"), a.grant.id, title=title, recipient="bank1",
                                  product_name=title)


def _review_all(a: Airlocked, req_id: str, vote: str = "approve") -> None:
    files = airlock.get_request(a.rt, a.who("analyst"), req_id)["files"]
    for reviewer in ("reviewer1", "reviewer2"):
        for f in files:
            airlock.vote(a.rt, a.who(reviewer), req_id, f["name"], vote)
        airlock.submit_review(a.rt, a.who(reviewer), req_id)


def test_per_subject_list_keeps_only_consenting_rows_and_says_so(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    view = airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="rating_list.csv",
                            context="评级名单", controls="仅已授权企业")
    (f,) = view["files"]
    assert f["outcome"] == "pass" and f["rows"] == CONSENTING
    note = f["derivation"]["consent_filter"]
    assert note["rows_kept"] == CONSENTING and note["rows_removed"] == len(a.usccs) - CONSENTING
    assert "only consenting" in note["message_en"]


def test_per_subject_output_without_a_declared_shape_is_refused(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    with pytest.raises(InvalidInput) as info:
        airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="rating_list.csv",
                         context="c", controls="c", shape="scores_by_enterprise")
    assert info.value.code == "airlock.undeclared_shape"
    assert search(a.rt.store, AuditFilter(action="airlock.add_file", outcome="refused", limit=5))


def test_internal_outputs_never_enter_a_request(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    with pytest.raises(InvalidInput) as info:
        airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="scores.parquet",
                         context="c", controls="c")
    assert info.value.code == "airlock.internal_output"


def test_an_identifier_written_into_a_releasable_output_is_caught(airlocked: Airlocked) -> None:
    a = airlocked
    src = ("import pyarrow.parquet as pq, pyarrow.csv as c\n"
           "t = pq.read_table('/in/tax.annual_tax.parquet').select(['uscc', 'total_tax'])\n"
           "c.write_csv(t, '/out/tax.csv')\n")
    job = run(a.rt, a.grant.id, script_job(src, [{"name": "tax.csv", "label": "releasable", "kind": "table"}]))
    assert job.status == "succeeded"
    req = _request(a, "税收")
    view = airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=job.id, output="tax.csv", context="c",
                            controls="none")
    (f,) = view["files"]
    assert f["outcome"] == "fail"
    assert any(x["code"].startswith("identifiers") and x["outcome"] == "fail" for x in f["findings"])
    with pytest.raises(InvalidInput) as info:
        airlock.submit_request(a.rt, a.who("analyst"), req["id"])
    assert info.value.code == "airlock.checks_failed" and "tax.csv" in info.value.message.en


def test_outputs_of_dev_runs_never_enter_the_airlock(airlocked: Airlocked) -> None:
    from opdomain.compute.devdata import build_dev_data

    a = airlocked
    build_dev_data(a.rt, a.who("analyst"), a.grant.id)
    job = run(a.rt, a.grant.id, script_job("open('/out/a.csv','w').write('n\\n12\\n')\n",
                                           [{"name": "a.csv", "label": "releasable"}]), "dev")
    req = _request(a)
    with pytest.raises(InvalidInput) as info:
        airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=job.id, output="a.csv", context="c", controls="c")
    assert info.value.code == "airlock.job_not_domain"


def test_two_independent_reviewers_then_consolidation(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="grade_distribution.csv",
                     context="各等级企业数", controls="k=10")
    airlock.submit_request(a.rt, a.who("analyst"), req["id"])
    r1, r2 = a.who("reviewer1"), a.who("reviewer2")
    airlock.vote(a.rt, r1, req["id"], "grade_distribution.csv", "changes", comment="round the counts")
    seen_by_r2 = airlock.vote(a.rt, r2, req["id"], "grade_distribution.csv", "approve")
    assert [v["reviewer"] for v in seen_by_r2["files"][0]["votes"]] == ["reviewer2"]  # not the other's
    with pytest.raises(InvalidInput):  # no decision before both independent reviews
        airlock.decide(a.rt, r1, req["id"], "approve")
    airlock.submit_review(a.rt, r1, req["id"])
    assert len(airlock.get_request(a.rt, r1, req["id"])["files"][0]["votes"]) == 1
    airlock.submit_review(a.rt, r2, req["id"])
    both = airlock.get_request(a.rt, r1, req["id"])
    assert both["votes_visible"] == "all" and len(both["files"][0]["votes"]) == 2
    with pytest.raises(InvalidInput) as info:
        airlock.decide(a.rt, r1, req["id"], "approve")
    assert info.value.code == "airlock.approval_incomplete"
    airlock.vote(a.rt, r1, req["id"], "grade_distribution.csv", "approve", comment="consolidated")
    assert airlock.decide(a.rt, r2, req["id"], "approve")["status"] == "approved"
    actions = {r.action for r in search(a.rt.store, AuditFilter(object_id=req["id"], limit=100))}
    assert {"airlock.view", "airlock.vote", "airlock.submit_review", "airlock.approve", "airlock.submit"} <= actions


def test_a_third_reviewer_the_author_and_operator_staff_cannot_review(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    from opdomain.audit.log import SYSTEM
    from opdomain.identity.service import create_user
    from tests.conftest import resident_id

    a = airlocked
    req = _request(a)
    airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="grade_distribution.csv",
                     context="c", controls="c")
    airlock.submit_request(a.rt, a.who("analyst"), req["id"])
    with pytest.raises(PermissionDenied):  # analysts hold no review permission at all
        airlock.vote(a.rt, a.who("analyst"), req["id"], "grade_distribution.csv", "approve")
    airlock.vote(a.rt, a.who("reviewer1"), req["id"], "grade_distribution.csv", "approve")
    airlock.vote(a.rt, a.who("reviewer2"), req["id"], "grade_distribution.csv", "approve")
    create_user(a.rt, SYSTEM, username="reviewer3", password="pw-reviewer3-0123456789", real_name="测试审核三",
                resident_id=resident_id(51), phone="13900000051", role="reviewer", organization_code="wzdata")
    with pytest.raises(Conflict) as info:
        airlock.vote(a.rt, a.who("reviewer3"), req["id"], "grade_distribution.csv", "approve")
    assert info.value.code == "airlock.reviewers_full"
    # the pure rule: a reviewer never reviews their own request, nor one of their own operator
    with pytest.raises(PermissionDenied) as own:
        rules.check_can_review(reviewer="reviewer1", reviewer_org="wzdata", author="reviewer1", operator="op1")
    assert own.value.code == "airlock.own_request"
    with pytest.raises(PermissionDenied):
        rules.check_can_review(reviewer="x", reviewer_org="op1", author="analyst", operator="op1")


def test_returned_changed_file_resets_its_votes_and_withdrawal(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    analyst = a.who("analyst")
    airlock.add_file(a.rt, analyst, req["id"], job_id=rating.id, output="grade_distribution.csv", context="c",
                     controls="c")
    airlock.submit_request(a.rt, analyst, req["id"])
    _review_all(a, req["id"], "changes")
    assert airlock.decide(a.rt, a.who("reviewer1"), req["id"], "return", reason="add context")["status"] == "returned"
    airlock.add_file(a.rt, analyst, req["id"], job_id=rating.id, output="grade_distribution.csv",
                     context="各类别各等级企业数", controls="每格≥10")
    view = airlock.get_request(a.rt, a.who("auditor"), req["id"])
    assert view["files"][0]["votes"] == []
    again = airlock.submit_request(a.rt, analyst, req["id"])
    assert again["status"] == "submitted" and again["round"] == 2
    assert airlock.withdraw_request(a.rt, analyst, req["id"], reason="no longer needed")["status"] == "withdrawn"
    with pytest.raises(Conflict):
        airlock.submit_request(a.rt, analyst, req["id"])


def test_rejection_needs_a_reason(airlocked: Airlocked, rating) -> None:  # type: ignore[no-untyped-def]
    a = airlocked
    req = _request(a)
    airlock.add_file(a.rt, a.who("analyst"), req["id"], job_id=rating.id, output="grade_distribution.csv",
                     context="c", controls="c")
    airlock.submit_request(a.rt, a.who("analyst"), req["id"])
    _review_all(a, req["id"], "changes")
    with pytest.raises(InvalidInput):
        airlock.decide(a.rt, a.who("reviewer2"), req["id"], "reject")
    assert airlock.decide(a.rt, a.who("reviewer2"), req["id"], "reject", reason="not needed")["status"] == "rejected"


def test_request_state_machine_table_and_diagram_agree() -> None:
    diagram = rules.mermaid()
    for (a, b), (name, _) in rules.TRANSITIONS.items():
        assert f"{a.value} --> {b.value}: {name}" in diagram
    with pytest.raises(Conflict):
        rules.check_transition("released", rules.RequestStatus.APPROVED)
