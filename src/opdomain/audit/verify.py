"""``opdomain audit verify``: walk the chain and the signed checkpoints.

Finds an edited record (its hash no longer matches), a deleted or inserted one (a gap in the
sequence or a broken ``prev_hash`` link), a reordered one (both), a rewritten tail (a checkpoint
whose hash differs from the record's, or whose signature fails) and a truncated tail (the head
no longer matches the last record).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from opdomain.audit.log import GENESIS, _ts, hasher
from opdomain.store.db import Store


@dataclass
class VerifyResult:
    ok: bool
    records: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str = ""
    problems: list[str] = field(default_factory=list)


def verify_chain(store: Store, public_key: Ed25519PublicKey, *, batch: int = 50_000) -> VerifyResult:
    with store.engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash, algorithm FROM audit_head WHERE id = 1")).first()
        algorithm = head[2] if head else "sha256"
        digest = hasher(algorithm)
        checkpoints = {
            int(r[0]): (r[1], r[2]) for r in conn.execute(text("SELECT seq, hash, signature FROM audit_checkpoints"))
        }
        prev_hash, expected_seq, count = GENESIS, 1, 0
        hashes_at_checkpoints: dict[int, str] = {}
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            text(
                "SELECT seq, at, actor, role, organization, action, object_type, object_id, grant_id, "
                "outcome, reason, request_id, details, prev_hash, hash FROM audit_records ORDER BY seq"
            )
        )
        for row in result:
            seq = int(row[0])
            if seq != expected_seq:
                what = "deleted" if seq > expected_seq else "duplicated or reordered"
                return _bad(
                    count,
                    len(checkpoints),
                    expected_seq,
                    f"record {expected_seq}: missing in sequence (a record was {what})",
                )
            if row[13] != prev_hash:
                return _bad(
                    count,
                    len(checkpoints),
                    seq,
                    f"record {seq}: prev_hash does not link to record {seq - 1} (inserted, deleted or reordered)",
                )
            at = row[1]
            if isinstance(at, str):  # SQLite through a raw text() query
                from datetime import datetime

                at = datetime.fromisoformat(at)
            fields = (
                str(seq),
                _ts(at),
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8] or "",
                row[9],
                row[10],
                row[11],
                row[12],
                row[13],
            )
            h = digest("\x1f".join(fields).encode())
            if h != row[14]:
                return _bad(count, len(checkpoints), seq, f"record {seq}: content does not match its hash (edited)")
            if seq in checkpoints:
                hashes_at_checkpoints[seq] = h
            prev_hash, expected_seq, count = h, seq + 1, count + 1
        for seq, (cp_hash, signature) in sorted(checkpoints.items()):
            try:
                public_key.verify(bytes.fromhex(signature), f"{seq}:{cp_hash}".encode())
            except (InvalidSignature, ValueError):
                return _bad(count, len(checkpoints), seq, f"checkpoint {seq}: signature invalid")
            if seq not in hashes_at_checkpoints:
                return _bad(count, len(checkpoints), seq, f"checkpoint {seq}: its record is missing (truncated)")
            if hashes_at_checkpoints[seq] != cp_hash:
                return _bad(
                    count,
                    len(checkpoints),
                    seq,
                    f"checkpoint {seq}: chain was rewritten (hash differs from the signed one)",
                )
        if head is not None and (int(head[0]) != count or head[1] != prev_hash):
            return _bad(
                count,
                len(checkpoints),
                min(int(head[0]), count) + 1,
                f"head says {head[0]} records but the chain holds {count} (tail truncated or appended)",
            )
        return VerifyResult(ok=True, records=count, checkpoints=len(checkpoints))


def _bad(count: int, cps: int, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, records=count, checkpoints=cps, first_bad_seq=seq, problem=problem)
