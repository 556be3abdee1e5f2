"""Property tests (Hypothesis): random sequences of transitions never reach a state the rules forbid —
over the pure transition tables and over the services on SQLite; any byte changed in a sealed agreement
fails verification; the docs carry the current diagram."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from tests.conftest import make_runtime
from tests.lifecycle.process_setup import add_experts, announce, apply

from opdomain.errors import DomainError
from opdomain.identity.service import principal_for
from opdomain.lifecycle import agreement, ending, machine
from opdomain.lifecycle import applications as apps
from opdomain.lifecycle.docs import lifecycle_diagrams
from opdomain.lifecycle.grants import load_grant
from opdomain.lifecycle.models_process import Application, EmergencyPlan

APP_NAMES = [t.name for t in machine.APPLICATION_TRANSITIONS]
GRANT_NAMES = [t.name for t in machine.GRANT_TRANSITIONS]
#: the order of the nine steps: a state may only be reached after all those before it
ORDER = ["draft", "applied", "pre_review", "expert_review", "final_review", "publicity", "filed",
         "agreement_signed", "active"]


class PureApplicationMachine(RuleBasedStateMachine):
    """Drives the application table with random transition names."""

    def __init__(self) -> None:
        super().__init__()
        self.state, self.path = "draft", ["draft"]

    @rule(name=st.sampled_from(APP_NAMES))
    def step(self, name: str) -> None:
        if machine.can_application_transition(self.state, name):
            self.state = machine.check_application_transition(self.state, name).target
            self.path.append(self.state)
        else:
            with pytest.raises(DomainError):
                machine.check_application_transition(self.state, name)

    @invariant()
    def nine_steps_in_order(self) -> None:
        main = [s for s in self.path if s in ORDER]
        assert main == sorted(main, key=ORDER.index) or "materials_requested" in self.path
        if "active" in self.path:
            for s in ("applied", "pre_review", "expert_review", "final_review", "publicity", "filed",
                      "agreement_signed"):
                assert s in self.path
        if self.state in machine.TERMINAL_APPLICATION_STATES:
            assert machine.application_targets(self.state) == []


class PureGrantMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state, self.ended = "active", False

    @rule(name=st.sampled_from(GRANT_NAMES))
    def step(self, name: str) -> None:
        if machine.can_grant_transition(self.state, name):
            self.state = machine.check_grant_transition(self.state, name).target
            self.ended = self.ended or self.state in machine.ENDED_GRANT_STATES
        else:
            with pytest.raises(DomainError):
                machine.check_grant_transition(self.state, name)

    @invariant()
    def an_ended_grant_never_opens_again(self) -> None:
        if self.ended:
            assert self.state in machine.ENDED_GRANT_STATES and self.state not in machine.OPEN_GRANT_STATES


TestPureApplication = PureApplicationMachine.TestCase
TestPureGrant = PureGrantMachine.TestCase


@pytest.fixture(scope="module")
def template(seeded_template: Path) -> Path:
    return seeded_template


_TEMPLATE: list[Path] = []


class ServiceMachine(RuleBasedStateMachine):
    """Random steps by random actors against the real services: the database never holds an application
    in a state its history forbids, never an active one without agreement and emergency plan, and never
    a grant that reopened after it ended."""

    @initialize()
    def setup(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        shutil.copytree(_TEMPLATE[0], self.dir / "home")
        self.rt = make_runtime(self.dir / "home", "sqlite")
        add_experts(self.rt)
        self.today = date.today()
        self.app_id = apply(self.rt, announce(self.rt, self.today), self.today)
        self.grant_id: str | None = None
        self.ended = False

    def teardown(self) -> None:
        if hasattr(self, "rt"):
            self.rt.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _try(self, fn) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(DomainError):
            fn()

    @rule(step=st.sampled_from(["submit", "begin_pre_review", "pass_pre_review", "reviews", "conclude", "approve",
                                "file", "sign", "plan", "activate", "withdraw", "reject"]),
          actor=st.sampled_from(["admin", "opadmin", "expert1", "analyst"]))
    def application_step(self, step: str, actor: str) -> None:
        rt, a, p = self.rt, self.app_id, principal_for(self.rt, actor)
        experts = ["expert1", "expert2", "expert3"]
        calls = {
            "submit": lambda: apps.submit(rt, p, a), "begin_pre_review": lambda: apps.begin_pre_review(rt, p, a),
            "pass_pre_review": lambda: apps.pass_pre_review(rt, p, a, experts=experts),
            "reviews": lambda: [apps.submit_expert_review(rt, principal_for(rt, e), a, scores={
                "security": 80, "credit": 80, "technical": 80}, opinion="同意") for e in experts],
            "conclude": lambda: apps.conclude_expert_review(rt, p, a, conclusion="同意"),
            "approve": lambda: apps.approve(rt, p, a, reasons="通过", today=self.today - timedelta(days=10)),
            "file": lambda: apps.file_with_government(rt, p, a, reference="备", today=self.today),
            "sign": lambda: apps.sign_agreement(rt, p, a),
            "plan": lambda: apps.file_emergency_plan(rt, p, a, title="预案", text="处置"),
            "activate": lambda: apps.activate(rt, p, a),
            "withdraw": lambda: apps.withdraw(rt, p, a, reason="撤回"),
            "reject": lambda: apps.reject(rt, p, a, reasons="不予授权"),
        }
        self._try(calls[step])

    @precondition(lambda self: hasattr(self, "rt"))
    @rule(how=st.sampled_from(["suspend", "resume", "seal", "unseal", "revoke", "expire", "cancel"]))
    def grant_step(self, how: str) -> None:
        with self.rt.store.session() as s:
            self.grant_id = s.get(Application, self.app_id).grant_id  # type: ignore[union-attr]
        if self.grant_id is None:
            return
        admin, gid = principal_for(self.rt, "admin"), self.grant_id
        from opdomain.lifecycle import grants

        calls = {
            "suspend": lambda: grants.suspend_grant(self.rt, admin, gid, reason="r"),
            "resume": lambda: grants.resume_grant(self.rt, admin, gid, reason="r"),
            "seal": lambda: grants.seal_grant(self.rt, admin, gid, reason="r"),
            "unseal": lambda: grants.unseal_grant(self.rt, admin, gid, reason="r"),
            "revoke": lambda: ending.revoke(self.rt, admin, gid, reason="r"),
            "expire": lambda: ending.expire(self.rt, gid, today=self.today + timedelta(days=3000)),
            "cancel": lambda: (ending.request_cancellation(self.rt, principal_for(self.rt, "opadmin"), gid,
                                                           reason="r"), ending.cancel(self.rt, admin, gid, reason="r")),
        }
        self._try(calls[how])

    @invariant()
    def the_rules_hold(self) -> None:
        if not hasattr(self, "rt"):
            return
        with self.rt.store.session() as s:
            app = s.get(Application, self.app_id)
            assert app is not None
            has_plan = s.query(EmergencyPlan).filter_by(application_id=self.app_id).count() > 0
        if app.state == "active":
            assert app.agreement_id and has_plan and app.grant_id and app.filing_reference
        if app.grant_id:
            g = load_grant(self.rt, app.grant_id)
            if self.ended:
                assert g.status == "destroyed"
            self.ended = self.ended or g.status in machine.ENDED_GRANT_STATES
            assert g.status != "active" or not self.ended


@pytest.mark.slow
def test_random_service_sequences_respect_the_rules(seeded_template: Path) -> None:
    _TEMPLATE[:] = [seeded_template]
    ServiceMachine.TestCase.settings = settings(max_examples=6, stateful_step_count=25, deadline=None,
                                                suppress_health_check=list(HealthCheck))
    ServiceMachine.TestCase().runTest()


_SIGNER = Ed25519PrivateKey.generate()
_SEALED, _, _ = agreement.seal_envelope(_SIGNER, agreement_id="a1", application_id="p1", html=b"<p>agreement</p>",
                                        pdf=b"%PDF-1.4 x", sealed_by="admin", sealed_at="2025-01-01T00:00:00+00:00")


@settings(max_examples=300, deadline=None)
@given(pos=st.integers(min_value=0, max_value=len(_SEALED) - 1), flip=st.integers(min_value=1, max_value=255))
def test_changing_any_byte_of_a_sealed_agreement_fails_verification(pos: int, flip: int) -> None:
    key = agreement.public_key_hex(_SIGNER.public_key())
    assert agreement.verify_sealed(_SEALED, trusted_public_key=key).ok
    changed = bytearray(_SEALED)
    changed[pos] ^= flip
    assert not agreement.verify_sealed(bytes(changed)).ok


def test_a_seal_by_another_key_is_not_the_authoritys() -> None:
    other = agreement.public_key_hex(Ed25519PrivateKey.generate().public_key())
    assert agreement.verify_sealed(_SEALED).ok
    assert not agreement.verify_sealed(_SEALED, trusted_public_key=other).ok


def test_docs_carry_the_current_diagram() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert lifecycle_diagrams() in doc, "regenerate: opdomain lifecycle diagram"
