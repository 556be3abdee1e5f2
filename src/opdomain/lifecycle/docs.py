"""The mermaid diagrams of docs/lifecycle.md, generated from the transition tables (machine.py)."""

from __future__ import annotations

from opdomain.lifecycle.machine import application_mermaid, grant_mermaid

BEGIN, END = "<!-- BEGIN GENERATED: opdomain lifecycle diagram -->", "<!-- END GENERATED -->"


def lifecycle_diagrams() -> str:
    return (f"{BEGIN}\n### Application (授权申请)\n\n```mermaid\n{application_mermaid()}\n```\n\n"
            f"### Grant (授权)\n\n```mermaid\n{grant_mermaid()}\n```\n{END}")
