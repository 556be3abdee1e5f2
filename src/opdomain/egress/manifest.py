"""The signed manifest of a release (发布清单; SPEC §6, rules 五.(一) R5.1b, 四.(五) R4.5a, 六.(十) R6.10).

A released output becomes a data product with a manifest that says what grant, job and code made
it, from which inputs (datasets and versions), what the airlock checks found, who reviewed it, what
files it holds (SHA-256 and SM3 digests) and who receives it. The manifest is canonical JSON —
keys sorted, UTF-8, no insignificant whitespace, no NaN — so the same release always gives the same
bytes, and the signature covers those bytes. Any edited file is named by :func:`verify_files`.

Signatures are Ed25519 (the domain's release key, see ``store.keys``). SM2 (GB/T 32918) is used when
the ``gmssl`` package is present; it is not a dependency of opdomain, and asking for SM2 without it
raises a clear :class:`~opdomain.errors.InvalidInput`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opdomain.egress import messages as msg
from opdomain.errors import InvalidInput, Message
from opdomain.store.keys import public_key_id

SCHEMA = "opdomain.release-manifest/1"
REQUIRED_FIELDS: tuple[str, ...] = (
    "grant",
    "job",
    "code_digest",
    "inputs",
    "checks",
    "reviewers",
    "files",
    "recipient",
)
ALGORITHMS: tuple[str, ...] = ("ed25519", "sm2")
DEFAULT_IGNORED: tuple[str, ...] = ("manifest.json", "manifest.sig", "manifest.json.sig")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sm3_hex(data: bytes) -> str:
    """SM3 (GB/T 32905) digest as hex, from the OpenSSL that ``cryptography`` links."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def file_digests(folder: Path, names: Collection[str] | None = None) -> list[dict[str, Any]]:
    """``{path, size, sha256, sm3}`` for every file under ``folder`` (or the ``names`` given),
    paths relative and with ``/``, sorted; files are streamed, never read whole."""
    folder = Path(folder)
    paths = [folder / n for n in names] if names is not None else [p for p in folder.rglob("*") if p.is_file()]
    entries = []
    for path in sorted(paths):
        sha, sm3 = hashlib.sha256(), hashes.Hash(hashes.SM3())
        size = 0
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                sha.update(block)
                sm3.update(block)
                size += len(block)
        rel = path.relative_to(folder).as_posix()
        entries.append({"path": rel, "size": size, "sha256": sha.hexdigest(), "sm3": sm3.finalize().hex()})
    return entries


def _safe_relative(path: object) -> bool:
    if not isinstance(path, str) or not path or "\\" in path or "\0" in path:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and pure.as_posix() == path


def _check_files(files: object) -> None:
    if not isinstance(files, list) or not files:
        raise InvalidInput("manifest.invalid_file", msg.MANIFEST_BAD_FILE.format(path="-", why="no files"))
    seen = set()
    for entry in files:
        path = entry.get("path") if isinstance(entry, Mapping) else None
        why = None
        if not isinstance(entry, Mapping) or not _safe_relative(path):
            why = "path must be relative, with /, inside the release"
        elif path in seen:
            why = "listed twice"
        elif not all(isinstance(entry.get(h), str) and _HEX64.match(entry[h]) for h in ("sha256", "sm3")):
            why = "sha256 and sm3 must be 64 lower-case hex digits"
        elif type(entry.get("size")) is not int or entry["size"] < 0:
            why = "size must be a non-negative integer"
        if why:
            raise InvalidInput("manifest.invalid_file", msg.MANIFEST_BAD_FILE.format(path=str(path), why=why))
        seen.add(path)


def _reviewer_id(reviewer: object) -> str:
    if isinstance(reviewer, Mapping):
        return str(reviewer.get("id") or reviewer.get("username") or reviewer.get("name") or "")
    return str(reviewer)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, UTF-8, ``,`` and ``:`` without spaces, no NaN or infinity."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("manifest.not_json", msg.MANIFEST_NOT_JSON.format(error=str(exc)[:200])) from exc
    return text.encode("utf-8")


def build_manifest(release: Mapping[str, Any]) -> bytes:
    """The canonical manifest bytes of a release.

    ``release`` holds at least :data:`REQUIRED_FIELDS`: ``grant``, ``job``, ``code_digest``,
    ``inputs`` (datasets and versions), ``checks`` (automated findings and outcomes), ``reviewers``
    (at least two different people), ``files`` (from :func:`file_digests`) and ``recipient``; any
    other key (release id, product, licence terms, watermark scheme) is kept as given.
    """
    missing = [f for f in REQUIRED_FIELDS if release.get(f) in (None, "", [], {})]
    if missing:
        raise InvalidInput("manifest.missing_fields", msg.MANIFEST_MISSING.format(fields=", ".join(missing)))
    _check_files(release["files"])
    reviewers = release["reviewers"]
    if not isinstance(reviewers, list) or len({_reviewer_id(r) for r in reviewers} - {""}) < 2:
        raise InvalidInput("manifest.reviewers", msg.MANIFEST_REVIEWERS)
    body = dict(release)
    body["schema"] = SCHEMA
    body["files"] = sorted(release["files"], key=lambda e: e["path"])
    return canonical_json(body)


def _sm2() -> Any:
    try:
        from gmssl import sm2  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InvalidInput("manifest.sm2_unavailable", msg.SM2_UNAVAILABLE) from exc
    return sm2


def sign_manifest(manifest_bytes: bytes, private_key: Any, *, algorithm: str = "ed25519") -> dict[str, str]:
    """``{signature (base64), key_id, algorithm}`` over the manifest bytes.

    Ed25519: ``private_key`` is an :class:`Ed25519PrivateKey`. SM2 (only with ``gmssl``): a pair
    ``(private key hex, public key hex)``."""
    if algorithm == "ed25519":
        if not isinstance(private_key, Ed25519PrivateKey):
            raise InvalidInput("manifest.bad_key", Message("签名密钥须为 Ed25519 私钥", "the key must be Ed25519"))
        signature = private_key.sign(manifest_bytes)
        key_id = public_key_id(private_key.public_key())
    elif algorithm == "sm2":
        sm2 = _sm2()
        private_hex, public_hex = private_key
        signer = sm2.CryptSM2(private_key=private_hex, public_key=public_hex)
        signature = bytes.fromhex(signer.sign_with_sm3(manifest_bytes))
        key_id = hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]
    else:
        raise InvalidInput("manifest.unknown_algorithm", msg.UNKNOWN_ALGORITHM.format(algorithm=algorithm))
    return {"signature": base64.b64encode(signature).decode("ascii"), "key_id": key_id, "algorithm": algorithm}


def verify_manifest(manifest_bytes: bytes, signature: Mapping[str, str] | str | bytes, public_key: Any) -> bool:
    """True when ``signature`` (as from :func:`sign_manifest`, or bare bytes / base64) is the key's
    signature over exactly these bytes; a key id that names another key is False too."""
    algorithm = "ed25519"
    key_id = None
    raw: str | bytes = signature  # type: ignore[assignment]
    if isinstance(signature, Mapping):
        algorithm = signature.get("algorithm", "ed25519")
        key_id = signature.get("key_id")
        raw = signature.get("signature", "")
    try:
        sig = raw if isinstance(raw, bytes) else base64.b64decode(raw, validate=True)
    except (ValueError, TypeError):
        return False
    if algorithm == "ed25519":
        if not isinstance(public_key, Ed25519PublicKey):
            return False
        if key_id is not None and key_id != public_key_id(public_key):
            return False
        try:
            public_key.verify(sig, manifest_bytes)
        except InvalidSignature:
            return False
        return True
    if algorithm == "sm2":
        sm2 = _sm2()
        verifier = sm2.CryptSM2(private_key="", public_key=public_key)
        return bool(verifier.verify_with_sm3(sig.hex(), manifest_bytes))
    return False


@dataclass(frozen=True)
class FileProblem:
    """A difference between a release folder and its manifest (``missing``, ``changed``,
    ``unexpected``, ``unsafe_path``)."""

    path: str
    code: str
    message: Message


def verify_files(
    manifest: bytes | Mapping[str, Any], folder: Path, *, ignore: Collection[str] = DEFAULT_IGNORED
) -> list[FileProblem]:
    """Every file of the manifest present with its size and both digests; no file added. Empty
    when the folder is exactly what was released."""
    body = json.loads(manifest) if isinstance(manifest, bytes | str) else manifest
    folder = Path(folder)
    root = folder.resolve()
    problems: list[FileProblem] = []
    listed = set()
    actual = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for entry in body.get("files", []):
        path = str(entry.get("path", ""))
        listed.add(path)
        target = (folder / path).resolve()
        if not _safe_relative(path) or not target.is_relative_to(root):
            problems.append(FileProblem(path, "unsafe_path", msg.FILE_UNSAFE_PATH.format(path=path)))
            continue
        if path not in actual:
            problems.append(FileProblem(path, "missing", msg.FILE_MISSING.format(path=path)))
            continue
        (found,) = file_digests(folder, [path])
        differs = [k for k in ("size", "sha256", "sm3") if found[k] != entry.get(k)]
        if differs:
            problems.append(FileProblem(path, "changed", msg.FILE_CHANGED.format(path=path, what=", ".join(differs))))
    for path in sorted(actual - listed):
        if path not in ignore:
            problems.append(FileProblem(path, "unexpected", msg.FILE_UNEXPECTED.format(path=path)))
    return problems
