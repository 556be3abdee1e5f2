"""Keys of the domain, kept in the data directory's ``keys/`` (mode 0700, files 0600).

- the master key (32 random bytes) wraps every per-dataset data key (envelope encryption);
- the audit signing key (Ed25519) signs audit checkpoints;
- the contract seal and release keys of later slices follow the same pattern.
Keys never enter the records database and never reach an analyst's process.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def master_key(keys_dir: Path) -> bytes:
    """The 32-byte master key, created on first use."""
    path = keys_dir / "master.key"
    if not path.exists():
        _write_secret(path, secrets.token_bytes(32))
    data = path.read_bytes()
    if len(data) != 32:
        raise RuntimeError(f"{path} is not a 32-byte key")
    return data


def signing_key(keys_dir: Path, name: str) -> Ed25519PrivateKey:
    """An Ed25519 private key ``keys/<name>.ed25519`` (PEM, PKCS#8), created on first use."""
    path = keys_dir / f"{name}.ed25519"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_secret(path, pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 key")
    return loaded


def public_key_id(public: Ed25519PublicKey) -> str:
    """A short, stable id of a public key: hex of its first 8 raw bytes' SHA-256."""
    import hashlib

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
