"""The hash-chained audit log (R4.4c, R5.1b): tampering by SQL is found by ``audit verify``.

Each test writes a chain through the product, then attacks the table directly with SQL the way
a database administrator could, and checks that verification names the first bad record.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from opdomain.audit.log import SYSTEM
from opdomain.audit.verify import verify_chain
from opdomain.runtime import Runtime


def write_records(rt: Runtime, n: int) -> None:
    with rt.store.session() as s:
        for i in range(n):
            rt.audit.record(s, SYSTEM, "test.action", "thing", f"obj-{i}", details={"i": i})


def verify(rt: Runtime):  # type: ignore[no-untyped-def]
    return verify_chain(rt.store, rt.audit.signer.public_key())


def sql(rt: Runtime, statement: str, **params: object) -> None:
    with rt.store.engine.begin() as c:
        c.execute(text(statement), params)


def test_untouched_chain_verifies(rt: Runtime) -> None:
    write_records(rt, 25)
    result = verify(rt)
    assert result.ok and result.records == 25


def test_edited_record_is_found(rt: Runtime) -> None:
    write_records(rt, 20)
    sql(rt, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 7")
    result = verify(rt)
    assert not result.ok and result.first_bad_seq == 7 and "edited" in result.problem


def test_deleted_record_is_found(rt: Runtime) -> None:
    write_records(rt, 20)
    sql(rt, "DELETE FROM audit_records WHERE seq = 12")
    result = verify(rt)
    assert not result.ok and result.first_bad_seq == 12


def test_inserted_record_is_found(rt: Runtime) -> None:
    write_records(rt, 10)
    # make room by shifting the tail up, then insert a forged record with a self-consistent hash
    sql(rt, "UPDATE audit_records SET seq = seq + 1000 WHERE seq > 5")
    sql(rt, "UPDATE audit_records SET seq = seq - 999 WHERE seq > 1000")
    sql(
        rt,
        "INSERT INTO audit_records (seq, at, actor, role, organization, action, object_type, object_id, "
        "outcome, reason, request_id, details, prev_hash, hash) SELECT 6, at, 'mallory', role, organization, "
        "action, object_type, 'forged', outcome, reason, request_id, details, hash, hash FROM audit_records "
        "WHERE seq = 5",
    )
    result = verify(rt)
    assert not result.ok and result.first_bad_seq == 6


def test_reordered_records_are_found(rt: Runtime) -> None:
    write_records(rt, 10)
    sql(rt, "UPDATE audit_records SET seq = 100 WHERE seq = 3")
    sql(rt, "UPDATE audit_records SET seq = 3 WHERE seq = 4")
    sql(rt, "UPDATE audit_records SET seq = 4 WHERE seq = 100")
    result = verify(rt)
    assert not result.ok and result.first_bad_seq == 3


def test_rewritten_tail_is_found_by_signed_checkpoint(rt: Runtime) -> None:
    """An attacker who recomputes every hash after an edit still fails the signed checkpoint."""
    rt.audit.checkpoint_every = 5
    write_records(rt, 12)
    from opdomain.audit.log import hasher, record_hash
    from opdomain.audit.models import AuditHead, AuditRecord

    sql(rt, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")
    digest = hasher("sha256")
    with rt.store.session() as s:  # recompute the whole chain as a careful attacker would
        prev = "0" * 64
        for rec in s.query(AuditRecord).order_by(AuditRecord.seq):
            rec.prev_hash = prev
            rec.hash = record_hash(rec, digest)
            prev = rec.hash
        s.get(AuditHead, 1).hash = prev  # type: ignore[union-attr]
    result = verify(rt)
    assert not result.ok and result.first_bad_seq == 5 and "rewritten" in result.problem


def test_truncated_tail_is_found(rt: Runtime) -> None:
    write_records(rt, 10)
    sql(rt, "DELETE FROM audit_records WHERE seq > 8")
    result = verify(rt)
    assert not result.ok and "truncated" in result.problem


def test_no_product_code_updates_or_deletes_audit_records() -> None:
    """R4.4c: the product has no code path that modifies an audit record."""
    from pathlib import Path

    import opdomain

    root = Path(opdomain.__file__).parent
    offenders = []
    for py in root.rglob("*.py"):
        src = py.read_text(encoding="utf-8")
        for bad in ("UPDATE audit_records", "DELETE FROM audit_records", "delete(AuditRecord", "update(AuditRecord"):
            if bad.lower() in src.lower():
                offenders.append(f"{py.relative_to(root)}: {bad}")
    assert offenders == []


def test_record_is_written_in_the_same_transaction_as_the_change(rt: Runtime) -> None:
    """A change that rolls back leaves no audit record behind (and the chain stays valid)."""
    write_records(rt, 3)
    with pytest.raises(RuntimeError), rt.store.session() as s:
        rt.audit.record(s, SYSTEM, "test.doomed", "thing", "x")
        raise RuntimeError("the change fails")
    result = verify(rt)
    assert result.ok and result.records == 3


def test_cli_verify_exits_non_zero_naming_the_record(srt: Runtime) -> None:
    write_records(srt, 8)
    home = str(srt.settings.home)
    ok = subprocess.run(
        [sys.executable, "-m", "opdomain.cli", "audit", "verify", "--home", home], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    sql(srt, "UPDATE audit_records SET reason = 'covered up' WHERE seq = 4")
    bad = subprocess.run(
        [sys.executable, "-m", "opdomain.cli", "audit", "verify", "--home", home], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "first bad record 4" in bad.stderr


def test_sm3_chain_verifies_and_detects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_runtime

    rt = make_runtime(tmp_path / "gm", "sqlite", crypto_profile="gm")
    try:
        write_records(rt, 5)
        assert verify(rt).ok
        sql(rt, "UPDATE audit_records SET object_id = 'x' WHERE seq = 2")
        assert verify(rt).first_bad_seq == 2
    finally:
        rt.close()
