"""HTTP API of the authorization process (授权程序), agreements, safe people, data requests, ending and
notifications. Thin: each route calls one service function. Permissions: identity.roles.PERMISSIONS.

Public (no account): ``GET /api/v1/public/notices`` (社会公开), ``GET /api/v1/public/announcements``,
``POST /api/v1/public/applications/{id}/objections``.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opdomain.identity.api import public, require, runtime
from opdomain.identity.service import Principal
from opdomain.lifecycle import agreement, applications, data_requests, ending, grants, notifications, people

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])


class AnnouncementIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    domain_areas: list[str]
    conditions: str = ""
    opens_on: date
    closes_on: date


class ApplicationIn(BaseModel):
    announcement_id: str
    scenarios: list[dict[str, str]]
    requirements: list[dict[str, Any]]
    starts_on: date
    ends_on: date
    pricing_mode: str = "conditional_free"
    fees: str = ""
    k: int = 10
    consent_subjects: list[str] = Field(default_factory=list)
    renewal_of: str | None = None


class MaterialIn(BaseModel):
    kind: str
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class MaterialsRequest(BaseModel):
    deadline: date
    extra: list[str] = Field(default_factory=list)
    note: str = ""


class Experts(BaseModel):
    experts: list[str]


class ExpertReviewIn(BaseModel):
    scores: dict[str, int] = Field(default_factory=dict)
    opinion: str = ""
    conflict: bool = False
    conflict_note: str = ""


class Approval(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)
    publicity_days: int = 7


class ObjectionIn(BaseModel):
    objector: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=4000)


class Filing(BaseModel):
    reference: str = Field(min_length=1, max_length=200)
    filed_with: str = "上级人民政府"


class PlanIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1)


class DataRequestIn(BaseModel):
    dataset: str
    columns: dict[str, str]


class Review(BaseModel):
    approve: list[str] = Field(default_factory=list)
    note: str = ""


class ExamAnswers(BaseModel):
    answers: dict[int, int]


class Question(BaseModel):
    text: str
    choices: list[str]
    answer: int


class Confidentiality(BaseModel):
    document: str = Field(min_length=1)


# --- public -------------------------------------------------------------------------------------


@router.get("/public/announcements", dependencies=[Depends(public)])
def announcements(request: Request) -> list[dict[str, Any]]:
    return applications.list_announcements(runtime(request))


@router.get("/public/notices", dependencies=[Depends(public)])
def notices(request: Request) -> list[dict[str, Any]]:
    return applications.public_notices(runtime(request))


@router.post("/public/applications/{app_id}/objections", status_code=201, dependencies=[Depends(public)])
def object_to(app_id: str, body: ObjectionIn, request: Request) -> dict[str, str]:
    return {"id": applications.file_objection(runtime(request), app_id, objector=body.objector, text=body.text)}


# --- announcement and application ---------------------------------------------------------------


@router.post("/announcements", status_code=201)
def create_announcement(body: AnnouncementIn, request: Request,
                        p: Principal = Depends(require("announcement.manage"))) -> dict[str, Any]:
    return applications.create_announcement(runtime(request), p, **body.model_dump())


@router.get("/applications")
def list_applications(request: Request, p: Principal = Depends(require("application.read"))) -> list[dict[str, Any]]:
    return [a.to_dict() for a in applications.list_applications(runtime(request), p)]


@router.post("/applications", status_code=201)
def create_application(body: ApplicationIn, request: Request,
                       p: Principal = Depends(require("application.apply"))) -> dict[str, Any]:
    return applications.create_application(runtime(request), p, **body.model_dump()).to_dict()


@router.get("/applications/{app_id}")
def get_application(app_id: str, request: Request,
                    p: Principal = Depends(require("application.read"))) -> dict[str, Any]:
    return applications.get_application(runtime(request), p, app_id).to_dict()


@router.get("/applications/{app_id}/timeline")
def application_timeline(app_id: str, request: Request,
                         p: Principal = Depends(require("application.read"))) -> list[dict[str, Any]]:
    return applications.timeline(runtime(request), p, "application", app_id)


@router.post("/applications/{app_id}/materials", status_code=201)
def add_material(app_id: str, body: MaterialIn, request: Request,
                 p: Principal = Depends(require("application.apply"))) -> dict[str, Any]:
    data = base64.b64decode(body.content_base64, validate=True)
    return applications.add_material(runtime(request), p, app_id, kind=body.kind, filename=body.filename,
                                     data=data).to_dict()


@router.post("/applications/{app_id}/submit")
def submit(app_id: str, request: Request, p: Principal = Depends(require("application.apply"))) -> dict[str, Any]:
    return applications.submit(runtime(request), p, app_id).to_dict()


@router.post("/applications/{app_id}/resubmit")
def resubmit(app_id: str, request: Request, p: Principal = Depends(require("application.apply"))) -> dict[str, Any]:
    return applications.resubmit(runtime(request), p, app_id).to_dict()


@router.post("/applications/{app_id}/withdraw")
def withdraw(app_id: str, body: Reason, request: Request,
             p: Principal = Depends(require("application.apply"))) -> dict[str, Any]:
    return applications.withdraw(runtime(request), p, app_id, reason=body.reason).to_dict()


@router.post("/applications/{app_id}/pre-review")
def begin_pre_review(app_id: str, request: Request,
                     p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.begin_pre_review(runtime(request), p, app_id).to_dict()


@router.post("/applications/{app_id}/request-materials")
def request_materials(app_id: str, body: MaterialsRequest, request: Request,
                      p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.request_materials(runtime(request), p, app_id, deadline=body.deadline, extra=body.extra,
                                          note=body.note).to_dict()


@router.post("/applications/{app_id}/pass-pre-review")
def pass_pre_review(app_id: str, body: Experts, request: Request,
                    p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.pass_pre_review(runtime(request), p, app_id, experts=body.experts).to_dict()


@router.post("/applications/{app_id}/expert-review")
def expert_review(app_id: str, body: ExpertReviewIn, request: Request,
                  p: Principal = Depends(require("application.expert_review"))) -> dict[str, Any]:
    return applications.submit_expert_review(runtime(request), p, app_id, scores=body.scores, opinion=body.opinion,
                                             conflict=body.conflict, conflict_note=body.conflict_note).to_dict()


@router.post("/applications/{app_id}/conclude-expert-review")
def conclude(app_id: str, body: Reason, request: Request,
             p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.conclude_expert_review(runtime(request), p, app_id, conclusion=body.reason).to_dict()


@router.post("/applications/{app_id}/approve")
def approve(app_id: str, body: Approval, request: Request,
            p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.approve(runtime(request), p, app_id, reasons=body.reason,
                                publicity_days=body.publicity_days).to_dict()


@router.post("/applications/{app_id}/reject")
def reject(app_id: str, body: Reason, request: Request,
           p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.reject(runtime(request), p, app_id, reasons=body.reason).to_dict()


@router.post("/objections/{objection_id}/answer")
def answer_objection(objection_id: str, body: Reason, request: Request,
                     p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.answer_objection(runtime(request), p, objection_id, answer=body.reason).to_dict()


@router.post("/applications/{app_id}/file")
def file_app(app_id: str, body: Filing, request: Request,
             p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.file_with_government(runtime(request), p, app_id, reference=body.reference,
                                             filed_with=body.filed_with).to_dict()


@router.post("/applications/{app_id}/agreement")
def sign(app_id: str, request: Request, p: Principal = Depends(require("agreement.seal"))) -> dict[str, Any]:
    return applications.sign_agreement(runtime(request), p, app_id).to_dict()


@router.post("/applications/{app_id}/emergency-plan")
def plan(app_id: str, body: PlanIn, request: Request,
         p: Principal = Depends(require("emergency_plan.manage"))) -> dict[str, Any]:
    return applications.file_emergency_plan(runtime(request), p, app_id, title=body.title, text=body.text).to_dict()


@router.post("/applications/{app_id}/activate")
def activate(app_id: str, request: Request, p: Principal = Depends(require("application.review"))) -> dict[str, Any]:
    return applications.activate(runtime(request), p, app_id).to_dict()


@router.get("/agreements/{agreement_id}/verify")
def verify_agreement(agreement_id: str, request: Request,
                     p: Principal = Depends(require("agreement.read"))) -> dict[str, Any]:
    rt = runtime(request)
    path = agreement.sealed_path(rt, agreement_id)
    r = agreement.verify_sealed(path.read_bytes(), trusted_public_key=agreement.authority_public_key(rt))
    return {"ok": r.ok, "problem": r.problem, "key_id": r.key_id, "sealed_by": r.sealed_by, "sealed_at": r.sealed_at}


# --- grants: ending, timeline, data requests --------------------------------------------------


@router.get("/grants/{grant_id}/timeline")
def grant_timeline(grant_id: str, request: Request,
                   p: Principal = Depends(require("grant.read"))) -> list[dict[str, Any]]:
    return applications.timeline(runtime(request), p, "grant", grant_id)


@router.post("/grants/{grant_id}/seal")
def seal(grant_id: str, body: Reason, request: Request,
         p: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return grants.seal_grant(runtime(request), p, grant_id, reason=body.reason).to_dict()


@router.post("/grants/{grant_id}/unseal")
def unseal(grant_id: str, body: Reason, request: Request,
           p: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return grants.unseal_grant(runtime(request), p, grant_id, reason=body.reason).to_dict()


@router.post("/grants/{grant_id}/cancellation-request")
def request_cancellation(grant_id: str, body: Reason, request: Request,
                         p: Principal = Depends(require("grant.request_cancellation"))) -> dict[str, Any]:
    return ending.request_cancellation(runtime(request), p, grant_id, reason=body.reason).to_dict()


@router.post("/grants/{grant_id}/cancel")
def cancel(grant_id: str, body: Reason, request: Request,
           p: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return ending.cancel(runtime(request), p, grant_id, reason=body.reason).to_dict()


@router.post("/grants/{grant_id}/revoke")
def revoke(grant_id: str, body: Reason, request: Request,
           p: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return ending.revoke(runtime(request), p, grant_id, reason=body.reason).to_dict()


@router.post("/lifecycle/tick")
def tick(request: Request, p: Principal = Depends(require("lifecycle.tick"))) -> dict[str, Any]:
    r = ending.tick(runtime(request), actor=p)
    return {"expired": r.expired, "lapsed": r.lapsed, "renewal_warnings": r.renewal_warnings, "emailed": r.emailed}


@router.get("/data-requests")
def list_requests(request: Request, grant_id: str | None = None,
                  p: Principal = Depends(require("data_request.read"))) -> list[dict[str, Any]]:
    return [r.to_dict() for r in data_requests.list_data_requests(runtime(request), p, grant_id=grant_id)]


@router.post("/grants/{grant_id}/data-requests", status_code=201)
def create_request(grant_id: str, body: DataRequestIn, request: Request,
                   p: Principal = Depends(require("data_request.create"))) -> dict[str, Any]:
    return data_requests.request_data(runtime(request), p, grant_id, dataset=body.dataset,
                                      columns=body.columns).to_dict()


@router.post("/data-requests/{request_id}/review")
def review_request(request_id: str, body: Review, request: Request,
                   p: Principal = Depends(require("data_request.review"))) -> dict[str, Any]:
    return data_requests.review_data_request(runtime(request), p, request_id, approve=body.approve,
                                             note=body.note).to_dict()


# --- safe people ---------------------------------------------------------------------------------


@router.get("/staff/me")
def staff_me(request: Request, p: Principal = Depends(require("notification.read"))) -> dict[str, Any]:
    return people.staff_status(runtime(request), p, p.username)


@router.get("/staff/{username}")
def staff(username: str, request: Request, p: Principal = Depends(require("staff.read"))) -> dict[str, Any]:
    return people.staff_status(runtime(request), p, username)


@router.post("/staff/{username}/verify-real-name")
def verify_real_name(username: str, request: Request,
                     p: Principal = Depends(require("user.manage"))) -> dict[str, Any]:
    return people.verify_real_name(runtime(request), p, username)


@router.post("/staff/{username}/leave")
def leave(username: str, request: Request, p: Principal = Depends(require("staff.manage"))) -> dict[str, Any]:
    return people.record_departure(runtime(request), p, username)


@router.post("/exam/questions", status_code=201)
def add_question(body: Question, request: Request, p: Principal = Depends(require("exam.manage"))) -> dict[str, int]:
    return {"id": people.add_question(runtime(request), p, text=body.text, choices=body.choices, answer=body.answer)}


@router.get("/exam/paper")
def paper(request: Request, p: Principal = Depends(require("exam.take"))) -> list[dict[str, Any]]:
    return people.exam_paper(runtime(request), p)


@router.post("/exam/answers")
def answers(body: ExamAnswers, request: Request, p: Principal = Depends(require("exam.take"))) -> dict[str, Any]:
    return people.take_exam(runtime(request), p, body.answers)


@router.post("/confidentiality")
def confidentiality(body: Confidentiality, request: Request,
                    p: Principal = Depends(require("confidentiality.sign"))) -> dict[str, Any]:
    return people.sign_confidentiality(runtime(request), p, document=body.document)


# --- notifications --------------------------------------------------------------------------------


@router.get("/notifications")
def my_notifications(request: Request, unread: bool = False,
                     p: Principal = Depends(require("notification.read"))) -> list[dict[str, Any]]:
    return [n.to_dict() for n in notifications.list_notifications(runtime(request), p, unread_only=unread)]


@router.post("/notifications/{notification_id}/read")
def read(notification_id: int, request: Request,
         p: Principal = Depends(require("notification.read"))) -> dict[str, Any]:
    return notifications.mark_read(runtime(request), p, notification_id).to_dict()
