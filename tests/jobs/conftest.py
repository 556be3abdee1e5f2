"""Fixtures of the job, airlock and product tests: a copy of the seeded 泵阀共富贷 domain with the event
handlers installed, a second reviewer, ~83 % of the enterprises consenting, the grant (consent required)
and the rating list's declared shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from opdomain.audit.log import SYSTEM
from opdomain.egress.airlock_files import declare_output
from opdomain.identity.service import create_user, principal_for
from opdomain.lifecycle.consent import record_consents
from opdomain.lifecycle.grants import GrantView
from opdomain.products.events import install
from opdomain.runtime import Runtime
from tests.conftest import resident_id
from tests.lifecycle import domain_setup
from tests.lifecycle.domain_setup import SCENARIO, make_grant, source_column

bengfa, seeded_template, domain = domain_setup.bengfa, domain_setup.seeded_template, domain_setup.domain
CONSENTING = 100


@dataclass
class Airlocked:
    rt: Runtime
    grant: GrantView
    usccs: list[str]

    def who(self, username: str):  # type: ignore[no-untyped-def]
        return principal_for(self.rt, username)


@pytest.fixture
def airlocked(domain: Runtime, bengfa: Path) -> Airlocked:
    rt = install(domain)
    create_user(rt, SYSTEM, username="reviewer2", password="pw-reviewer2-0123456789", real_name="测试审核二",
                resident_id=resident_id(50), phone="13900000050", role="reviewer", organization_code="wzdata")
    usccs = [str(u) for u in source_column(bengfa, "amr.enterprise_registry", "uscc")]
    record_consents(rt, principal_for(rt, "amr-staff"), subject_type="enterprise", subject_ids=usccs[:CONSENTING],
                    scenario=SCENARIO, operator_code="op1")
    grant = make_grant(rt, consent=("enterprise",))
    declare_output(rt, principal_for(rt, "admin"), grant.id, name="rating_list", subject_type="enterprise",
                   columns=["uscc", "category", "grade"])
    return Airlocked(rt, grant, usccs)
