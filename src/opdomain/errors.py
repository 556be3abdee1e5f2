"""Errors with stable codes and bilingual messages.

Every refusal the product makes is a :class:`DomainError` carrying a stable ``code``
(clients depend on it), a Chinese ``message`` and an English ``message_en``, and the
HTTP status the API answers with. The API renders it as SPEC §9's error shape; the CLI
prints both messages and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """A user-facing message as a named constant: Chinese first, English beside it.

    Placeholders use ``str.format`` names, e.g. ``Message("数据集 {name} 不存在", "dataset {name} not found")``.
    """

    zh: str
    en: str

    def format(self, **kwargs: Any) -> Message:
        return Message(self.zh.format(**kwargs), self.en.format(**kwargs))


class DomainError(Exception):
    """Base of every refusal; ``status`` is the HTTP status code."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message: Message,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message.en}")
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message.zh,
            "message_en": self.message.en,
        }
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Unauthenticated(DomainError):
    status = 401


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class TooManyRequests(DomainError):
    status = 429
