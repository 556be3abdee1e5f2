"""opdomain benchmarks: ``make bench`` runs every ``bench/bench_*.py`` and prints one table.

Each module exposes ``run(ctx: BenchContext) -> list[Figure]``. A figure is measured against a
baseline measured in the same run (a ratio), with a target to aim for — reported, never asserted.
"""
