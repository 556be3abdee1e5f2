"""The state diagrams in the docs are generated from the same tables the code runs (STYLE)."""

from pathlib import Path

from opdomain.compute.jobs_policy import mermaid as job_diagram
from opdomain.egress.airlock_policy import mermaid as request_diagram

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_job_and_release_request_diagrams_match_their_tables() -> None:
    assert job_diagram() in (DOCS / "jobs.md").read_text(encoding="utf-8")
    assert request_diagram() in (DOCS / "airlock.md").read_text(encoding="utf-8")
