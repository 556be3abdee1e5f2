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
}


def roles_with(permission: str) -> frozenset[Role]:
    return PERMISSIONS[permission]


def can(role: str, permission: str) -> bool:
    """Deny by default: unknown permissions and unknown roles are refused."""
    roles = PERMISSIONS.get(permission)
    return roles is not None and role in {r.value for r in roles}
