"""CSRF tokens of the console's forms (every POST form carries one).

- Logged in: a *synchronizer token* derived from the session: HMAC-SHA256 of the opaque
  session token under a per-installation secret. Nothing is stored on the server, the token
  changes with every login and dies with the session, and it cannot be computed without both
  the HttpOnly session cookie and the secret.
- Not yet logged in (the login form): a *signed double-submit cookie*. ``GET /login`` sets a
  random nonce in an HttpOnly cookie and puts HMAC(secret, nonce) in the form; a cross-site
  page can neither read the cookie nor compute the HMAC, and a planted cookie is useless
  without the matching signature.

The secret lives in ``keys/csrf.key`` (32 random bytes, mode 0600), created on first use.
It is not a key of the audit or data: losing it only invalidates open forms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

KEY_FILE = "csrf.key"
FIELD = "csrf_token"
#: the login form's nonce cookie (double-submit)
PRESESSION_COOKIE = "opdomain_csrf"
_KEY_BYTES = 32
_keys: dict[str, bytes] = {}
_lock = threading.Lock()


def installation_key(keys_dir: Path) -> bytes:
    """The installation's CSRF secret; created atomically (link, never overwrite) with 0600."""
    path = keys_dir / KEY_FILE
    with _lock:
        cached = _keys.get(str(path))
        if cached is not None:
            return cached
        if not path.exists():
            keys_dir.mkdir(parents=True, exist_ok=True)
            tmp = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(_KEY_BYTES))
            try:
                os.link(tmp, path)  # atomic: a concurrent process that won the race keeps its key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = path.read_bytes()
        if len(key) < _KEY_BYTES:
            raise RuntimeError(f"{path}: CSRF key is truncated; delete it to create a new one")
        _keys[str(path)] = key
        return key


def _mac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"opdomain-csrf-v1\x00{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def session_token(key: bytes, session: str) -> str:
    """The synchronizer token of a logged-in session."""
    return _mac(key, "session", session)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def presession_token(key: bytes, nonce: str) -> str:
    """The login form's token, bound to the nonce in its cookie."""
    return _mac(key, "presession", nonce)


def matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
