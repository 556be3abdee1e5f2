"""Computing in the workspace (运营域内计算): governed queries on real data, dev data, jobs.

Rules 一.(一) R1.1a and R1.1b, 四.(二) R4.2b, 四.(四) R4.4c (SPEC §5). The governed-query core:

* ``policy``      the grant as the analyser sees it (plain values)
* ``analysis*``   parse → scope → allow-list → aggregation rule → masking and consent (tree → tree passes)
* ``engine``      a locked-down DuckDB per use, with a guard on DuckDB's own parse tree
* ``messages``    refusal texts, Chinese and English

The main names are importable from here lazily (importing this package loads neither sqlglot nor DuckDB).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "analyze": "opdomain.compute.analysis",
    "AnalyzedQuery": "opdomain.compute.analysis",
    "QueryRefused": "opdomain.compute.analysis_errors",
    "HistoryEntry": "opdomain.compute.analysis_differencing",
    "history_entry": "opdomain.compute.analysis_differencing",
    "differencing_checks": "opdomain.compute.analysis_differencing",
    "check_differencing": "opdomain.compute.analysis_differencing",
    "open_engine": "opdomain.compute.engine",
    "Engine": "opdomain.compute.engine",
    "ColumnPolicy": "opdomain.compute.policy",
    "TablePolicy": "opdomain.compute.policy",
    "GrantPolicy": "opdomain.compute.policy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'opdomain.compute' has no attribute {name!r}")
