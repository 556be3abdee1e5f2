"""Identity services: organizations, real-name users, login to a bearer token, authentication.

Safe people (rules 四.(四) R4.4b): every account is a named person with a verified resident ID
(GB 11643 check digit) and phone; no shared accounts. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opdomain.audit.log import ActorLike
from opdomain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from opdomain.identity import messages as msg
from opdomain.identity.models import AccessToken, LoginAttempt, Organization, User
from opdomain.identity.roles import ROLE_ORG_KINDS, OrgKind, Role, can
from opdomain.privacy.identifiers import is_valid_mobile, is_valid_resident_id
from opdomain.runtime import Runtime
from opdomain.store.db import utcnow

_hasher = PasswordHasher()
#: a hash of a random password, verified against when the username is unknown, so that
#: response time does not reveal which usernames exist
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the rest of the domain sees it."""

    user_id: str
    username: str
    real_name: str
    role: str
    organization_id: str
    organization_code: str
    organization_kind: str
    organization_name: str
    token_id: str | None = None


def _principal(user: User, token_id: str | None = None) -> Principal:
    org = user.organization
    return Principal(user.id, user.username, user.real_name, user.role, org.id, org.code, org.kind, org.name, token_id)


def create_organization(
    rt: Runtime, actor: ActorLike, *, kind: str, code: str, name: str, government: str = ""
) -> Organization:
    try:
        OrgKind(kind)
    except ValueError as exc:
        raise InvalidInput("org.bad_kind", msg.BAD_ROLE.format(value=kind)) from exc
    with rt.store.session() as s:
        if s.scalar(select(Organization).where(Organization.code == code)):
            raise Conflict("org.duplicate", msg.DUPLICATE_ORG.format(code=code))
        org = Organization(kind=kind, code=code, name=name, government=government)
        s.add(org)
        s.flush()
        rt.audit.record(
            s,
            actor,
            "org.create",
            "organization",
            code,
            details={"kind": kind, "name": name},
        )
        return org


def create_user(
    rt: Runtime,
    actor: ActorLike,
    *,
    username: str,
    password: str,
    real_name: str,
    resident_id: str,
    phone: str,
    role: str,
    organization_code: str,
) -> User:
    if role not in {r.value for r in Role}:
        raise InvalidInput("user.bad_role", msg.BAD_ROLE.format(value=role))
    if not is_valid_resident_id(resident_id):
        raise InvalidInput("user.bad_resident_id", msg.BAD_RESIDENT_ID.format(value=resident_id))
    if not is_valid_mobile(phone):
        raise InvalidInput("user.bad_phone", msg.BAD_PHONE.format(value=phone))
    if len(password) < 10:
        raise InvalidInput("user.weak_password", msg.WEAK_PASSWORD)
    with rt.store.session() as s:
        org = s.scalar(select(Organization).where(Organization.code == organization_code))
        if org is None:
            raise NotFound("org.not_found", msg.UNKNOWN_ORG.format(code=organization_code))
        if OrgKind(org.kind) not in ROLE_ORG_KINDS[Role(role)]:
            raise InvalidInput("user.role_org_mismatch", msg.ROLE_ORG_MISMATCH.format(role=role, kind=org.kind))
        if s.scalar(select(User).where(User.username == username)):
            raise Conflict("user.duplicate", msg.DUPLICATE_USER.format(username=username))
        user = User(
            username=username,
            password_hash=_hasher.hash(password),
            real_name=real_name,
            resident_id=resident_id,
            phone=phone,
            role=role,
            organization_id=org.id,
        )
        s.add(user)
        s.flush()
        # the audit record names the account, never its resident ID or phone
        rt.audit.record(
            s,
            actor,
            "user.create",
            "user",
            username,
            details={"role": role, "organization": organization_code},
        )
        return user


def _check_throttle(rt: Runtime, s: Session, username: str) -> None:
    since = utcnow() - timedelta(seconds=rt.settings.login_window_seconds)
    failures = (
        s.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.username == username, LoginAttempt.ok.is_(False), LoginAttempt.at >= since)
        )
        or 0
    )
    if failures >= rt.settings.login_max_failures:
        raise TooManyRequests("auth.throttled", msg.THROTTLED.format(seconds=rt.settings.login_window_seconds))


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    principal: Principal


def login(rt: Runtime, username: str, password: str, *, client: str = "") -> IssuedToken:
    """Checks the password (argon2id), throttles repeated failures, and issues an opaque token."""
    anonymous = Anonymous(username)
    with rt.store.session() as s:
        try:
            _check_throttle(rt, s, username)
        except TooManyRequests as exc:
            s.rollback()
            rt.audit.record_refusal(anonymous, "auth.login", "user", username, reason=exc.code)
            raise
        user = s.scalar(select(User).where(User.username == username))
        ok = False
        try:
            ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and user is not None and not user.is_active:
            ok = False
        s.add(LoginAttempt(username=username, client=client[:64], ok=ok))
        if not ok or user is None:
            rt.audit.record(
                s, anonymous, "auth.login", "user", username, outcome="refused", reason="auth.bad_credentials"
            )
            s.commit()
            raise Unauthenticated("auth.bad_credentials", msg.BAD_CREDENTIALS)
        token = secrets.token_urlsafe(32)
        ttl = rt.settings.token_ttl_seconds
        row = AccessToken(token_hash=_token_hash(token), user_id=user.id, expires_at=utcnow() + timedelta(seconds=ttl))
        s.add(row)
        s.flush()
        principal = _principal(user, row.id)
        rt.audit.record(s, principal, "auth.login", "user", username)
        return IssuedToken(token, ttl, principal)


def logout(rt: Runtime, principal: Principal) -> None:
    with rt.store.session() as s:
        row = s.get(AccessToken, principal.token_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
        rt.audit.record(s, principal, "auth.logout", "user", principal.username)


def authenticate(rt: Runtime, token: str | None) -> Principal:
    """Resolves a bearer token to its principal; raises ``Unauthenticated`` otherwise."""
    if not token:
        raise Unauthenticated("auth.required", msg.NOT_AUTHENTICATED)
    with rt.store.session() as s:
        row = s.scalar(select(AccessToken).where(AccessToken.token_hash == _token_hash(token)))
        if row is None or row.revoked_at is not None or _aware(row.expires_at) <= utcnow():
            raise Unauthenticated("auth.token_invalid", msg.TOKEN_INVALID)
        user = s.get(User, row.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("auth.inactive", msg.INACTIVE_USER)
        return _principal(user, row.id)


def authorize(
    rt: Runtime, principal: Principal, permission: str, *, object_type: str = "route", object_id: str = ""
) -> None:
    """The one deny-by-default permission check of every API route and admin command.

    A refusal is audited (SPEC §2: every refusal of a protected action is audited).
    """
    if not can(principal.role, permission):
        rt.audit.record_refusal(
            principal, permission, object_type, object_id or permission, reason="auth.permission_denied"
        )
        raise PermissionDenied("auth.permission_denied", msg.PERMISSION_DENIED.format(permission=permission))


def principal_for(rt: Runtime, username: str) -> Principal:
    """The principal of a named user (admin CLI commands act as a named person, never anonymously)."""
    with rt.store.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.is_active:
            raise Unauthenticated("auth.unknown_user", msg.BAD_CREDENTIALS)
        return _principal(user)


def list_users(rt: Runtime) -> list[User]:
    with rt.store.session() as s:
        return list(s.scalars(select(User).order_by(User.username)))


def list_organizations(rt: Runtime) -> list[Organization]:
    with rt.store.session() as s:
        return list(s.scalars(select(Organization).order_by(Organization.kind, Organization.code)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(dt):  # type: ignore[no-untyped-def]
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Anonymous:
    username: str
    role: str = "anonymous"
    organization_code: str = ""


def check_same_organization(principal: Principal, organization_code: str, what: str) -> None:
    """Rule: a department's staff act only on their own department's objects (R2.5)."""
    if principal.organization_code != organization_code:
        raise PermissionDenied("auth.other_organization", msg.OTHER_ORGANIZATION.format(what=what))
