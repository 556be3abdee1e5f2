"""Notifications of the process's deadlines: missing materials, objection periods, renewal windows, ends.

In-app always (table ``notifications``, to a user or to every person of an organization); e-mail in
addition only when ``OPDOMAIN_SMTP_HOST`` is set (``OPDOMAIN_SMTP_PORT``, ``OPDOMAIN_SMTP_FROM`` and
``OPDOMAIN_SMTP_TO`` — the one mailbox of this installation's duty desk; users carry no e-mail address
yet). Without that setting nothing is sent and nothing tries to connect. A reminder the daily tick
repeats carries a ``dedupe_key`` so it is stored once.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opdomain.errors import Message, NotFound
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle.models_process import Notification
from opdomain.runtime import Runtime
from opdomain.store.db import utcnow


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    message_zh: str
    message_en: str
    due_on: date | None
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "message": self.message_zh, "message_en": self.message_en,
                "due_on": self.due_on.isoformat() if self.due_on else None, "object_type": self.object_type,
                "object_id": self.object_id, "created_at": self.created_at.isoformat(),
                "read_at": self.read_at.isoformat() if self.read_at else None}


def notify(s: Session, *, kind: str, message: Message, organization_code: str | None = None,
           username: str | None = None, due_on: date | None = None, object_type: str = "", object_id: str = "",
           dedupe_key: str | None = None) -> None:
    """Stores one notification inside the caller's transaction (skipped if ``dedupe_key`` exists)."""
    if dedupe_key and s.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return
    s.add(Notification(kind=kind, message_zh=message.zh, message_en=message.en, organization_code=organization_code,
                       username=username, due_on=due_on, object_type=object_type, object_id=object_id,
                       dedupe_key=dedupe_key))


def _view(n: Notification) -> NotificationView:
    return NotificationView(n.id, n.kind, n.message_zh, n.message_en, n.due_on, n.object_type, n.object_id,
                            n.created_at, n.read_at)


def list_notifications(rt: Runtime, principal: Principal, *, unread_only: bool = False,
                       limit: int = 200) -> list[NotificationView]:
    """The caller's notifications: addressed to them or to their organization, newest first."""
    authorize(rt, principal, "notification.read", object_type="notification", object_id="*")
    with rt.store.session() as s:
        stmt = select(Notification).where(or_(Notification.username == principal.username,
                                              Notification.organization_code == principal.organization_code))
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        return [_view(n) for n in s.scalars(stmt.order_by(Notification.id.desc()).limit(max(1, min(limit, 1000))))]


def mark_read(rt: Runtime, principal: Principal, notification_id: int) -> NotificationView:
    authorize(rt, principal, "notification.read", object_type="notification", object_id=str(notification_id))
    with rt.store.session() as s:
        n = s.get(Notification, notification_id)
        if n is None or (n.username != principal.username and n.organization_code != principal.organization_code):
            raise NotFound("notification.not_found", pmsg.NOTIFICATION_NOT_FOUND.format(id=notification_id))
        n.read_at = n.read_at or utcnow()
        return _view(n)


# ---------------------------------------------------------------------------------------------
# e-mail


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    recipient: str


def smtp_config(env: dict[str, str] | None = None) -> SmtpConfig | None:
    """The SMTP settings, or None when ``OPDOMAIN_SMTP_HOST`` is not set (then e-mail is off)."""
    env = dict(os.environ if env is None else env)
    host = env.get("OPDOMAIN_SMTP_HOST", "").strip()
    if not host:
        return None
    return SmtpConfig(host, int(env.get("OPDOMAIN_SMTP_PORT", "25")),
                      env.get("OPDOMAIN_SMTP_FROM", "opdomain@localhost"),
                      env.get("OPDOMAIN_SMTP_TO", "opdomain-duty@localhost"))


def build_email(n: NotificationView, cfg: SmtpConfig) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[opdomain] {n.message_zh[:60]}"
    msg["From"], msg["To"] = cfg.sender, cfg.recipient
    due = f"\n期限 due: {n.due_on.isoformat()}" if n.due_on else ""
    msg.set_content(f"{n.message_zh}\n{n.message_en}{due}\n\n({n.kind} {n.object_type} {n.object_id})\n")
    return msg


def deliver_pending(rt: Runtime, *, config: SmtpConfig | None = None, smtp_factory: Any = None) -> int:
    """Sends every notification not yet e-mailed; a no-op (0) without SMTP configuration."""
    cfg = config or smtp_config()
    if cfg is None:
        return 0
    with rt.store.session() as s:
        pending = list(s.scalars(select(Notification).where(Notification.emailed_at.is_(None))
                                 .order_by(Notification.id).limit(500)))
        if not pending:
            return 0
        factory = smtp_factory or smtplib.SMTP
        with factory(cfg.host, cfg.port, timeout=10) as smtp:
            for n in pending:
                smtp.send_message(build_email(_view(n), cfg))
                n.emailed_at = utcnow()
        return len(pending)
