"""Roles (SPEC §2) and the permission matrix, declared as data. Deny by default.

A permission not listed for a role is refused, and the refusal is audited. Organization
scoping (a provider imports only its own department's datasets) is checked by the services
with the ``check_*`` rules in ``identity.policy``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AUTHORITY_ADMIN = "authority_admin"
    PROVIDER = "provider"
    EXPERT = "expert"
    REVIEWER = "reviewer"
    OPERATOR_ADMIN = "operator_admin"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    CONSUMER = "consumer"


class OrgKind(StrEnum):
    AUTHORITY = "authority"
    PROVIDER = "provider"
    OPERATOR = "operator"
    ASSESSOR = "assessor"
    CONSUMER = "consumer"
    EXPERT_GROUP = "expert_group"


#: which organization kinds a role may belong to
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.AUTHORITY_ADMIN: frozenset({OrgKind.AUTHORITY}),
    Role.REVIEWER: frozenset({OrgKind.AUTHORITY}),
    Role.PROVIDER: frozenset({OrgKind.PROVIDER}),
    Role.EXPERT: frozenset({OrgKind.EXPERT_GROUP, OrgKind.ASSESSOR}),
    Role.OPERATOR_ADMIN: frozenset({OrgKind.OPERATOR}),
    Role.ANALYST: frozenset({OrgKind.OPERATOR}),
    Role.AUDITOR: frozenset({OrgKind.ASSESSOR, OrgKind.AUTHORITY}),
    Role.CONSUMER: frozenset({OrgKind.CONSUMER}),
}

_ALL_STAFF = frozenset(set(Role) - {Role.CONSUMER})

#: permission → roles that hold it. Add a permission here before a route may use it.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "session.me": frozenset(Role),
    "catalog.read": _ALL_STAFF,
    "dataset.import": frozenset({Role.PROVIDER}),
    "dataset.forbid": frozenset({Role.PROVIDER, Role.AUTHORITY_ADMIN}),
    "imports.read": frozenset({Role.PROVIDER, Role.AUTHORITY_ADMIN, Role.AUDITOR}),
    "audit.read": frozenset({Role.AUDITOR, Role.AUTHORITY_ADMIN}),
    "audit.verify": frozenset({Role.AUDITOR, Role.AUTHORITY_ADMIN}),
    "org.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR}),
    "org.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "user.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "grant.create": frozenset({Role.AUTHORITY_ADMIN}),
    "grant.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN, Role.ANALYST}),
    "grant.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "workspace.use": frozenset({Role.ANALYST}),
    "consent.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN}),
    "consent.manage": frozenset({Role.AUTHORITY_ADMIN, Role.PROVIDER}),
    # jobs and the airlock (issue 5): analysts submit, two reviewers decide, the recipient downloads
    "jobs.submit": frozenset({Role.ANALYST}),
    "jobs.read": frozenset({Role.ANALYST, Role.OPERATOR_ADMIN, Role.AUTHORITY_ADMIN, Role.AUDITOR}),
    "jobs.cancel": frozenset({Role.ANALYST, Role.OPERATOR_ADMIN}),
    "airlock.author": frozenset({Role.ANALYST}),
    "airlock.read": frozenset({Role.ANALYST, Role.OPERATOR_ADMIN, Role.REVIEWER, Role.AUTHORITY_ADMIN,
                               Role.AUDITOR}),
    "airlock.review": frozenset({Role.REVIEWER}),
    "airlock.release": frozenset({Role.ANALYST, Role.AUTHORITY_ADMIN}),
    "airlock.declare_output": frozenset({Role.AUTHORITY_ADMIN}),
    "products.read": frozenset(Role),
    "products.download": frozenset({Role.CONSUMER, Role.OPERATOR_ADMIN}),
    "products.verify": frozenset(Role),
    "products.trace": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR}),
    "lineage.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.REVIEWER, Role.OPERATOR_ADMIN,
                               Role.ANALYST}),
    # the authorization process (rules 三), safe people (四.(一), 四.(四)), data requests (四.(二))
    "announcement.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "application.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN, Role.EXPERT}),
    "application.apply": frozenset({Role.OPERATOR_ADMIN}),
    "application.review": frozenset({Role.AUTHORITY_ADMIN}),
    "application.expert_review": frozenset({Role.EXPERT}),
    # a provider's read-only view of the applications that request its datasets (issue 4)
    "application.read_own_datasets": frozenset({Role.PROVIDER}),
    "agreement.seal": frozenset({Role.AUTHORITY_ADMIN}),
    "agreement.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN}),
    "emergency_plan.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "grant.request_cancellation": frozenset({Role.OPERATOR_ADMIN}),
    "lifecycle.tick": frozenset({Role.AUTHORITY_ADMIN}),
    "staff.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN}),
    "staff.manage": frozenset({Role.AUTHORITY_ADMIN, Role.OPERATOR_ADMIN}),
    "exam.manage": frozenset({Role.AUTHORITY_ADMIN}),
    "exam.take": frozenset({Role.ANALYST, Role.OPERATOR_ADMIN}),
    "confidentiality.sign": frozenset({Role.ANALYST, Role.OPERATOR_ADMIN}),
    "data_request.read": frozenset({Role.AUTHORITY_ADMIN, Role.AUDITOR, Role.OPERATOR_ADMIN, Role.ANALYST,
                                    Role.PROVIDER}),
    "data_request.create": frozenset({Role.OPERATOR_ADMIN}),
    "data_request.review": frozenset({Role.PROVIDER}),
    "notification.read": _ALL_STAFF,
}


def roles_with(permission: str) -> frozenset[Role]:
    return PERMISSIONS[permission]


def can(role: str, permission: str) -> bool:
    """Deny by default: unknown permissions and unknown roles are refused."""
    roles = PERMISSIONS.get(permission)
    return roles is not None and role in {r.value for r in roles}
