"""Demo steps of the later capabilities (grants, queries, …), each added by its slice."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from opdomain.runtime import Runtime


def run_later_steps(rt: Runtime, say: Console, passwords: dict[str, str]) -> dict[str, Any]:
    return {}
