"""The hash-chained audit log (rules 三.(九) R3.9d, 四.(四) R4.4c, 五.(一) R5.1b; SPEC §7).

Each record's hash covers its fields and the previous record's hash, so an edited, deleted,
inserted or reordered record breaks the chain. Every ``checkpoint_every`` records a checkpoint
signs (seq, hash) with the audit key (Ed25519), so rewriting the whole chain from some point on
is found too, unless the signing key was also stolen — it never leaves ``keys/``.

A record is written *in the same transaction* as the change it records (``record``). A refusal
rolls the change back, so refusals are written in their own transaction (``record_refusal``).
There is no function here, or anywhere in the product, that updates or deletes a record.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.audit.models import AuditCheckpoint, AuditHead, AuditRecord
from opdomain.store.db import Store, utcnow
from opdomain.store.keys import public_key_id

GENESIS = "0" * 64
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class ActorLike(Protocol):
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organization_code(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """The domain itself (scheduled expiry, migrations, the demo's setup)."""

    username: str = "system"
    role: str = "system"
    organization_code: str = "domain"


SYSTEM = SystemActor()


def hasher(algorithm: str) -> Callable[[bytes], str]:
    if algorithm == "sha256":
        return lambda b: hashlib.sha256(b).hexdigest()
    if algorithm == "sm3":
        from cryptography.hazmat.primitives import hashes

        def sm3(b: bytes) -> str:
            h = hashes.Hash(hashes.SM3())
            h.update(b)
            return h.finalize().hex()

        return sm3
    raise ValueError(f"unknown audit hash {algorithm}")


def _ts(at: datetime) -> str:
    # SQLite returns naive datetimes; normalise to UTC microseconds so the hash is stable.
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    organization: str,
    action: str,
    object_type: str,
    object_id: str,
    grant_id: str | None,
    outcome: str,
    reason: str,
    request_id: str,
    details: str,
    prev_hash: str,
) -> bytes:
    fields = (
        str(seq),
        _ts(at),
        actor,
        role,
        organization,
        action,
        object_type,
        object_id,
        grant_id or "",
        outcome,
        reason,
        request_id,
        details,
        prev_hash,
    )
    return "\x1f".join(fields).encode()


def record_hash(rec: AuditRecord, digest: Callable[[bytes], str]) -> str:
    return digest(
        canonical(
            rec.seq,
            rec.at,
            rec.actor,
            rec.role,
            rec.organization,
            rec.action,
            rec.object_type,
            rec.object_id,
            rec.grant_id,
            rec.outcome,
            rec.reason,
            rec.request_id,
            rec.details,
            rec.prev_hash,
        )
    )


class AuditLog:
    """Appends to and reads the chain of one records store."""

    def __init__(
        self, store: Store, signer: Ed25519PrivateKey, *, algorithm: str = "sha256", checkpoint_every: int = 1000
    ) -> None:
        self.store = store
        self.signer = signer
        self.key_id = public_key_id(signer.public_key())
        self.algorithm = algorithm
        self.checkpoint_every = checkpoint_every
        self._digests: dict[str, Callable[[bytes], str]] = {}

    def _head(self, session: Session) -> AuditHead:
        """The chain head, locked for this transaction; cached in the session so that a
        transaction appending many records reads and locks it once."""
        cached = session.info.get("audit_head")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        stmt = select(AuditHead).where(AuditHead.id == 1)
        if not self.store.is_sqlite:
            stmt = stmt.with_for_update()  # serialises writers on PostgreSQL; SQLite uses BEGIN IMMEDIATE
        head = session.scalars(stmt).one_or_none()
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS, algorithm=self.algorithm)
            session.add(head)
            session.flush()
        session.info["audit_head"] = head
        return head

    def record(
        self,
        session: Session,
        actor: ActorLike,
        action: str,
        object_type: str,
        object_id: str,
        *,
        outcome: str = "allowed",
        reason: str = "",
        grant_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Appends one record inside the caller's transaction."""
        head = self._head(session)
        digest = self._digest(head.algorithm)
        rec = AuditRecord(
            seq=head.seq + 1,
            at=utcnow().replace(tzinfo=None),
            actor=actor.username,
            role=actor.role,
            organization=actor.organization_code,
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:200],
            grant_id=grant_id,
            outcome=outcome,
            reason=reason,
            request_id=request_id_var.get(),
            details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False, default=str),
            prev_hash=head.hash,
        )
        rec.hash = record_hash(rec, digest)
        session.add(rec)
        head.seq, head.hash = rec.seq, rec.hash
        if rec.seq % self.checkpoint_every == 0:
            session.add(self._checkpoint(rec.seq, rec.hash))
        return rec

    def _digest(self, algorithm: str) -> Callable[[bytes], str]:
        fn = self._digests.get(algorithm)
        if fn is None:
            fn = self._digests[algorithm] = hasher(algorithm)
        return fn

    def _checkpoint(self, seq: int, hash_: str) -> AuditCheckpoint:
        sig = self.signer.sign(f"{seq}:{hash_}".encode()).hex()
        return AuditCheckpoint(seq=seq, hash=hash_, key_id=self.key_id, signature=sig)

    def checkpoint_now(self) -> int | None:
        """Signs the current head (e.g. at the end of the demo or by a scheduled task)."""
        with self.store.session() as s:
            head = self._head(s)
            if head.seq == 0 or s.get(AuditCheckpoint, head.seq) is not None:
                return None
            s.add(self._checkpoint(head.seq, head.hash))
            return head.seq

    def record_refusal(
        self,
        actor: ActorLike,
        action: str,
        object_type: str,
        object_id: str,
        *,
        reason: str,
        grant_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audits a refused action in its own transaction (the action's own was rolled back)."""
        with self.store.session() as s:
            self.record(
                s,
                actor,
                action,
                object_type,
                object_id,
                outcome="refused",
                reason=reason,
                grant_id=grant_id,
                details=details,
            )
