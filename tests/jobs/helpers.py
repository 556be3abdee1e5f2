"""Helpers of the job, airlock and product tests: job definitions and running a job to its end."""

from __future__ import annotations

from typing import Any

from opdomain.compute.jobs import JobView, submit_job
from opdomain.compute.worker import run_next_job
from opdomain.demo_steps import rating_job_definition
from opdomain.identity.service import principal_for
from opdomain.runtime import Runtime

SQL_BY_SCALE = ("SELECT CASE WHEN is_above_scale THEN '规上' ELSE '规下' END AS category, count(*) AS enterprises "
                "FROM eit.mu_efficiency GROUP BY 1 ORDER BY 1")


def rating_definition() -> dict[str, Any]:
    """The rating job plus a SQL action (enterprises per category)."""
    d = rating_job_definition()
    d["actions"].append({"name": "by_scale", "type": "sql", "inputs": ["eit.mu_efficiency"], "sql": SQL_BY_SCALE,
                         "outputs": [{"name": "by_scale.csv", "label": "releasable", "kind": "table"}]})
    return d


def script_job(source: str, outputs: list[dict[str, Any]] | None = None, **limits: int) -> dict[str, Any]:
    """A one-action Python job of ``source``."""
    d: dict[str, Any] = {"name": "probe", "files": {"job.py": source},
                         "actions": [{"name": "run", "type": "python", "script": "job.py", "outputs": outputs or []}]}
    if limits:
        d["limits"] = limits
    return d


def run(rt: Runtime, grant_id: str, definition: dict[str, Any], environment: str = "domain") -> JobView:
    submit_job(rt, principal_for(rt, "analyst"), grant_id, definition, environment)
    job = run_next_job(rt)
    assert job is not None
    return job
