"""The harness: figures, a shared scratch directory, the table and the JSON results."""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    name: str
    unit: str
    value: float
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    #: "lower" when smaller values are better (seconds), "higher" for rates
    better: str = "lower"
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


@dataclass
class BenchContext:
    scratch: Path
    quick: bool = False
    cache: dict[str, Any] = field(default_factory=dict)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def peak_rss_mb_children() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def write_results(figures: list[Figure], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = results_dir / f"bench-{stamp}.json"
    payload = {
        "when": stamp,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    (results_dir / "latest.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def new_context(quick: bool) -> BenchContext:
    root = Path(os.environ.get("OPDOMAIN_BENCH_DIR") or tempfile.mkdtemp(prefix="opdomain-bench-"))
    return BenchContext(scratch=root, quick=quick)
