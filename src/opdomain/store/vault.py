"""Encryption at rest of the domain's data (rules 一.(一) R1.1a; 三.(九) R3.9d crypto-shredding).

Envelope encryption: each dataset version has its own random 256-bit data key (DEK), used
with AES-256-GCM (standard profile) or SM4-GCM (国密 profile, 128-bit key = first 16 bytes);
the DEK is stored only wrapped by the master key (AES-256-GCM key wrap with the version's
identity as associated data). Deleting the wrapped DEK makes the file unreadable for good.

Files are framed in segments so neither encryption nor decryption needs the whole file in
memory, and so that truncation, reordering or splicing of segments is detected (STREAM-like
construction: nonce = 8-byte random file prefix ‖ 4-byte segment counter, last-segment flag in
the associated data). See docs/decisions/0001-encryption-at-rest.md.
"""

from __future__ import annotations

import io
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"ODENC1\n"
SEGMENT = 4 * 1024 * 1024
TAG = 16
CIPHERS = ("aes-256-gcm", "sm4-gcm")


class IntegrityError(Exception):
    """A ciphertext failed authentication: tampered, truncated or the wrong key."""


def new_data_key() -> bytes:
    return secrets.token_bytes(32)


def wrap_key(master: bytes, dek: bytes, context: str) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(master).encrypt(nonce, dek, context.encode())


def unwrap_key(master: bytes, wrapped: bytes, context: str) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], context.encode())
    except Exception as exc:  # cryptography raises InvalidTag
        raise IntegrityError("data key cannot be unwrapped") from exc


def _seal(cipher: str, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(key).encrypt(nonce, data, aad)
    enc = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(data) + enc.finalize() + enc.tag


def _open(cipher: str, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    try:
        if cipher == "aes-256-gcm":
            return AESGCM(key).decrypt(nonce, data, aad)
        dec = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce, data[-TAG:])).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(data[:-TAG]) + dec.finalize()
    except Exception as exc:
        raise IntegrityError("segment failed authentication") from exc


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes, cipher: str = "aes-256-gcm") -> None:
    if cipher not in CIPHERS:
        raise ValueError(f"unknown cipher {cipher}")
    prefix = secrets.token_bytes(8)
    header = MAGIC + cipher.encode().ljust(16, b"\0") + prefix
    dst.write(header)
    index = 0
    chunk = src.read(SEGMENT)
    while True:
        nxt = src.read(SEGMENT)
        last = not nxt
        nonce = prefix + struct.pack(">I", index)
        dst.write(_seal(cipher, key, nonce, chunk, _aad(header, index, last)))
        if last:
            break
        chunk, index = nxt, index + 1


def decrypt_stream(src: BinaryIO, key: bytes) -> Iterator[bytes]:
    header = src.read(len(MAGIC) + 16 + 8)
    if not header.startswith(MAGIC):
        raise IntegrityError("not an opdomain encrypted file")
    cipher = header[len(MAGIC) : len(MAGIC) + 16].rstrip(b"\0").decode()
    prefix = header[-8:]
    index = 0
    block = src.read(SEGMENT + TAG)
    while True:
        nxt = src.read(SEGMENT + TAG)
        last = not nxt
        if not block and index > 0:
            raise IntegrityError("truncated")
        nonce = prefix + struct.pack(">I", index)
        yield _open(cipher, key, nonce, block, _aad(header, index, last))
        if last:
            return
        block, index = nxt, index + 1


def encrypt_file(plain: Path, target: Path, key: bytes, cipher: str = "aes-256-gcm") -> None:
    """Encrypts ``plain`` into ``target`` atomically (temp file + fsync + rename)."""
    tmp = target.with_name(target.name + f".partial-{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with plain.open("rb") as src, tmp.open("wb") as dst:
        encrypt_stream(src, dst, key, cipher)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)


def decrypt_to_bytes(path: Path, key: bytes) -> bytes:
    out = io.BytesIO()
    with path.open("rb") as src:
        for part in decrypt_stream(src, key):
            out.write(part)
    return out.getvalue()
