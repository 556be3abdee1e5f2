"""Wires the domain events of lower slices to the handlers of jobs, lineage and products (STYLE: a lower
slice publishes, a higher one subscribes; never an upward import).

- ``grant.ended`` (lifecycle) → cancel the grant's queued/running jobs; disable its releases.
- ``job.finished`` (compute) → the job run's OpenLineage events.
"""

from __future__ import annotations

from typing import Any

from opdomain.runtime import Runtime


def install(rt: Runtime) -> Runtime:
    """Subscribes the handlers once per runtime (idempotent); returns ``rt``."""
    from opdomain.compute import jobs
    from opdomain.egress import lineage
    from opdomain.products import service

    wanted: list[tuple[str, Any]] = [("grant.ended", jobs.on_grant_ended), ("grant.ended", service.on_grant_ended),
                                     ("job.finished", lineage.on_job_finished)]
    for event, handler in wanted:
        if handler not in rt.subscribers.get(event, []):
            rt.subscribe(event, handler)
    return rt
