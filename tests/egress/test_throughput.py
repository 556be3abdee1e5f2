"""Throughput of the airlock checks on a 1,000,000-cell output (bench target > 1,000,000 cells/s).

Not a timed assertion: the figure is measured and printed; the assertions are about what the
checks found on the generated table."""

from __future__ import annotations

from opdomain.egress.checks import Outcome, OutputContext, bench_cells_per_second, check_output, write_bench_table
from opdomain.egress.messages import Code


def test_a_million_cell_output_is_checked_and_measured(tmp_path):
    figures = bench_cells_per_second(rows=100_000, folder=tmp_path)
    print(f"\nairlock checks: {figures['cells_per_second']:,.0f} cells/s on {figures['cells']:,.0f} cells")
    assert figures["cells"] == 1_000_000


def test_the_bench_table_fails_only_the_row_limit(tmp_path):
    path = write_bench_table(tmp_path / "bench.csv", rows=20_000)
    report = check_output(path, context=OutputContext(max_bytes=10**9))
    assert report.codes(Outcome.FAIL) == {Code.ROW_LIMIT}
