"""``python -m bench [--quick] [names…]``: run the benchmarks and print one table."""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.harness import Figure, new_context, write_results

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("names", nargs="*", help="only these modules, e.g. ingest audit")
    args = parser.parse_args()
    console = Console()
    ctx = new_context(args.quick)
    figures: list[Figure] = []
    failed = []
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in modules:
        if args.names and name.removeprefix("bench_") not in args.names:
            continue
        console.print(f"[bold]▶ {name}[/bold]")
        try:
            mod = importlib.import_module(f"bench.{name}")
            figures.extend(mod.run(ctx))
        except Exception:  # a broken benchmark is reported, the others still run
            failed.append(name)
            console.print(traceback.format_exc())
    table = Table(title="opdomain benchmarks (ratios against a baseline measured in this run)")
    for col in ("figure", "value", "unit", "baseline", "ratio", "target"):
        table.add_column(col)
    for f in figures:
        base = f"{f.baseline:.4g} ({f.baseline_name})" if f.baseline is not None else "-"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "-"
        table.add_row(f.name, f"{f.value:.4g}", f.unit, base, ratio, f.target)
    console.print(table)
    path = write_results(figures, HERE / "results")
    console.print(f"results: {path}")
    shutil.rmtree(ctx.scratch, ignore_errors=True)
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
