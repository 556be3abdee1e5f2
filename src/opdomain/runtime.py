"""The running domain: settings, records store, audit log and keys, opened once per process.

Services take a :class:`Runtime` instead of reaching for globals, so tests open as many
independent domains (SQLite, PostgreSQL) as they like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opdomain.audit.log import AuditLog
from opdomain.config import Settings
from opdomain.store import keys
from opdomain.store.db import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    audit: AuditLog
    master_key: bytes
    #: subscribers of domain events (a lower slice makes a higher one act without importing it)
    subscribers: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def cipher(self) -> str:
        return "sm4-gcm" if self.settings.crypto_profile == "gm" else "aes-256-gcm"

    def subscribe(self, event: str, handler: Any) -> None:
        self.subscribers.setdefault(event, []).append(handler)

    def publish(self, event: str, **payload: Any) -> None:
        for handler in self.subscribers.get(event, []):
            handler(self, **payload)

    def close(self) -> None:
        self.store.dispose()


def open_runtime(settings: Settings, *, schema: str | None = None, migrate: bool = True) -> Runtime:
    settings.ensure_dirs()
    store = Store(settings.records_url, schema=schema)
    if migrate:
        store.migrate()
    signer = keys.signing_key(settings.keys_dir, "audit")
    algorithm = "sm3" if settings.crypto_profile == "gm" else "sha256"
    audit = AuditLog(store, signer, algorithm=algorithm, checkpoint_every=settings.audit_checkpoint_every)
    return Runtime(settings=settings, store=store, audit=audit, master_key=keys.master_key(settings.keys_dir))
