"""Audit log: append rate (records/s) and verify time for 1,000,000 records (issue 2 targets:
≥ 20,000 records/s appended; 1,000,000 verified in < 10 s). Baseline: plain inserts of the same
rows with no chain (what the hash chain costs)."""

from __future__ import annotations

import json
import time

from sqlalchemy import text

from bench.harness import BenchContext, Figure
from opdomain.audit.log import SYSTEM
from opdomain.audit.verify import verify_chain
from opdomain.config import Settings
from opdomain.runtime import open_runtime


def run(ctx: BenchContext) -> list[Figure]:
    rt = open_runtime(Settings(home=ctx.scratch / "audit", audit_checkpoint_every=10_000))
    n_append = 5_000 if ctx.quick else 50_000
    batch = 500
    t = time.perf_counter()
    for i in range(0, n_append, batch):
        with rt.store.session() as s:
            for j in range(batch):
                rt.audit.record(s, SYSTEM, "bench.append", "bench", str(i + j), details={"n": i + j})
    append_s = time.perf_counter() - t
    # the pattern of an API request: one record, one transaction, one commit
    n_single = 500 if ctx.quick else 3_000
    t = time.perf_counter()
    for i in range(n_single):
        with rt.store.session() as s:
            rt.audit.record(s, SYSTEM, "bench.single", "bench", str(i))
    single_s = time.perf_counter() - t
    # baseline: the same number of rows inserted into a plain table, same batching
    with rt.store.engine.begin() as c:
        c.execute(
            text("CREATE TABLE plain (seq INTEGER PRIMARY KEY, actor TEXT, action TEXT, object_id TEXT, details TEXT)")
        )
    t = time.perf_counter()
    for i in range(0, n_append, batch):
        with rt.store.engine.begin() as c:
            c.execute(
                text("INSERT INTO plain VALUES (:seq, 'system', 'bench.append', :o, :d)"),
                [{"seq": i + j, "o": str(i + j), "d": json.dumps({"n": i + j})} for j in range(batch)],
            )
    plain_s = time.perf_counter() - t

    # grow the chain to 1,000,000 records through the same code path, in large transactions
    total = 100_000 if ctx.quick else 1_000_000
    done = n_append + n_single
    while done < total:
        step = min(20_000, total - done)
        with rt.store.session() as s:
            for j in range(step):
                rt.audit.record(s, SYSTEM, "bench.fill", "bench", str(done + j))
        done += step
    t = time.perf_counter()
    result = verify_chain(rt.store, rt.audit.signer.public_key())
    verify_s = time.perf_counter() - t
    assert result.ok, result.problem
    rt.close()
    return [
        Figure(
            "audit append (500 per transaction)",
            "records/s",
            n_append / append_s,
            baseline=n_append / plain_s,
            baseline_name="plain INSERT, no chain",
            target="≥ 20,000 records/s",
            better="higher",
        ),
        Figure(
            "audit append, 1 record per transaction",
            "records/s",
            n_single / single_s,
            target="(commit-bound; for information)",
            better="higher",
        ),
        Figure(
            f"audit verify {total:,} records",
            "s",
            verify_s,
            target="< 10 s (1,000,000)",
            notes=f"{result.checkpoints} checkpoints",
        ),
    ]
