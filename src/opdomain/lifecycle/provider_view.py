"""A provider department's read-only view of the applications that request its datasets (issue 4).

Providers hold no ``application.read``; ``application.read_own_datasets`` lets them see, for every
application past the draft, the operator, scenarios, term, state and only the rows of the data
requirement list that name the department's own datasets.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from opdomain.catalog.models import Dataset
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle.models_process import Application
from opdomain.runtime import Runtime


def own_dataset_names(rt: Runtime, principal: Principal) -> set[str]:
    with rt.store.session() as s:
        return set(s.scalars(select(Dataset.name).join(Organization, Organization.id == Dataset.department_id)
                             .where(Organization.code == principal.organization_code)))


def applications_for_provider(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """Submitted applications whose data requirement list names a dataset of the caller's department."""
    authorize(rt, principal, "application.read_own_datasets", object_type="application", object_id="*")
    names = own_dataset_names(rt, principal)
    out: list[dict[str, Any]] = []
    with rt.store.session() as s:
        for app in s.scalars(select(Application).where(Application.state != "draft")
                             .order_by(Application.created_at.desc())):
            rows = [r for r in json.loads(app.requirements) if r["dataset"] in names]
            if not rows:
                continue
            org = s.get(Organization, app.operator_id)
            out.append({"id": app.id, "operator_name": org.name if org else "", "state": app.state,
                        "scenarios": [{"name": x["name"], "domain_area": x["domain_area"]}
                                      for x in json.loads(app.scenarios)],
                        "starts_on": app.starts_on.isoformat(), "ends_on": app.ends_on.isoformat(),
                        "requirements": rows, "grant_id": app.grant_id})
    return out
