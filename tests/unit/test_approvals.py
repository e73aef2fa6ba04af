"""Approval of costly steps, tested on the pure rules: the policies that ask for it, the
request (an ``approval`` hold and an ApprovalRequested fact), approve, reject, and the
decisions the case refuses (with the field the API names)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from eventstore.registry import default_registry
from policies.catalog import load_catalog
from schemas.case import CaseView, HoldKind
from schemas.case_events import ApprovalDecision
from schemas.policy import PolicyStep
from tests.unit.reducer_cases import (
    B2B,
    NOW,
    apply,
    closed,
    entries,
    event,
    fact,
    hold,
    kinds,
    last,
    new_case,
    paused,
    policy,
)
from workflows import case_reducer as reducer
from workflows.case_reducer import EventRejected
from workflows.event_preparation import prepare_event
from workflows.planner import next_wake

STANDARD = ("fr-b2b-standard", "fr-b2c-standard", "fr-public-standard")
OPERATOR = "operator:3f2a9c1e@acme"
DUE = date(2026, 10, 12)
"""Due 45 days (the formal notice's offset) before ASKED."""
ASKED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
"""When the formal notice came due and the case asked for its approval (before NOW)."""


def _step(key: str, policy_id: str = B2B) -> PolicyStep:
    return next(s for s in policy(policy_id).steps if s.key == key)


def _awaiting(key: str = "formal_notice") -> CaseView:
    """A B2B case whose timeline reached ``key`` (the four steps before it done): the
    workflow asked for the approval."""
    case = new_case(due=DUE)
    case.steps_done = 4
    reducer.request_approval(case, _step(key), ASKED)
    return case


def _decision(
    decision: str, step: str = "formal_notice", reason: str | None = None
) -> dict[str, Any]:
    body = {"type": "approval", "step": step, "decision": decision, "by": OPERATOR}
    return body if reason is None else {**body, "reason": reason}


def _refused(case: CaseView, payload: dict[str, Any]) -> EventRejected:
    before = case.model_copy(deep=True)
    with pytest.raises(EventRejected) as caught:
        reducer.check_event(case, event(payload))
    assert case == before, "check_event must not change the case"
    return caught.value


def _stored(case: CaseView) -> None:
    """Every fact journaled loads through the event store's registry (version 1)."""
    registry = default_registry()
    for entry in case.journal:
        if entry.fact is not None:
            registry.load(entry.fact["type"], entry.fact["version"], entry.fact["data"])


class TestPolicies:
    @pytest.mark.parametrize("policy_id", STANDARD)
    def test_standard_policies_ask_before_the_formal_notice_and_the_escalation(
        self, policy_id: str
    ) -> None:
        chosen = load_catalog()[policy_id]
        asking = [s.key for s in chosen.steps if s.requires_approval]
        assert asking == ["formal_notice", "escalation"]
        # Approvals came with v3 (cases on v2 keep their course); the consumer policy's v4
        # names the mediator in its letters.
        assert chosen.version >= 3

    def test_the_demo_policy_asks_for_nothing(self) -> None:
        assert not any(s.requires_approval for s in load_catalog()["demo"].steps)

    def test_a_step_asks_for_nothing_unless_told(self) -> None:
        step = PolicyStep.model_validate(
            {"key": "r", "label": "R", "channel": "email", "template": "t@1", "offset": "P1D"}
        )
        assert step.requires_approval is False


class TestRequest:
    def test_the_case_waits_for_the_decision_and_says_why(self) -> None:
        case = _awaiting()
        waiting = hold(case, HoldKind.approval)
        assert (waiting.ref, waiting.since, waiting.by) == ("formal_notice", ASKED, None)
        assert waiting.reason == "awaiting approval of Mise en demeure (LRAR)"
        assert case.pending_approvals == ["formal_notice"]
        requested = last(case, "ApprovalRequested")
        assert fact(requested)["data"] == {
            "step": "formal_notice",
            "label": "Mise en demeure (LRAR)",
            "requested_at": ASKED.isoformat().replace("+00:00", "Z"),
        }
        _stored(case)

    def test_no_step_runs_while_it_waits(self) -> None:
        case = _awaiting()
        wake = next_wake(case, policy(B2B), None, timed_law=True)
        assert wake.kind != "step", "the hold suspends the timeline"
        assert "awaiting approval of Mise en demeure (LRAR)" in wake.why
        untimed = next_wake(case, policy(B2B), None, timed_law=False)
        assert untimed.at is None and "awaiting approval of Mise en demeure" in untimed.why

    def test_an_approval_hold_is_one_per_step_beside_a_blocked_one(self) -> None:
        case = _awaiting()
        reducer.block_step(case, "reminder_3", "letter", "refused", NOW)
        assert kinds(case) == {HoldKind.approval, HoldKind.blocked}
        reducer.lift_hold(case, HoldKind.blocked, "reminder_3")
        assert case.pending_approvals == ["formal_notice"]


class TestApprove:
    def test_approve_lifts_the_hold_and_records_who_when_why(self) -> None:
        case = _awaiting()
        assert apply(case, _decision("approve", reason="montant vérifié")) == []
        assert case.holds == [] and case.pending_approvals == []
        [record] = case.approvals
        assert (record.step, record.decision, record.by, record.at, record.reason) == (
            "formal_notice",
            "approve",
            OPERATOR,
            NOW,
            "montant vérifié",
        )
        approved = last(case, "StepApproved")
        assert approved.by == OPERATOR
        assert fact(approved)["data"]["step"] == "formal_notice"
        assert fact(approved)["data"]["reason"] == "montant vérifié"
        assert reducer.step_approved(case, "formal_notice")
        assert not reducer.step_approved(case, "escalation"), "each step is approved apart"
        _stored(case)

    def test_the_step_is_due_again_once_approved(self) -> None:
        case = _awaiting()
        apply(case, _decision("approve"))
        wake = next_wake(case, policy(B2B), None, timed_law=True)
        assert wake.kind == "step" and wake.step is not None
        assert wake.step.key == "formal_notice"
        assert wake.at == ASKED, "its time has passed: it runs at once"

    def test_a_reason_is_optional_to_approve(self) -> None:
        case = _awaiting()
        apply(case, _decision("approve"))
        assert case.approvals[0].reason is None
        assert fact(last(case, "StepApproved"))["data"]["reason"] is None


class TestReject:
    def test_reject_never_runs_the_step_and_leaves_it_to_an_operator(self) -> None:
        case = _awaiting()
        apply(case, _decision("reject", reason="client en négociation"))
        assert case.pending_approvals == []
        operator = hold(case, HoldKind.operator)
        assert operator.by == OPERATOR
        assert operator.reason == "Mise en demeure (LRAR) rejected: client en négociation"
        assert [(a.decision, a.reason) for a in case.approvals] == [
            ("reject", "client en négociation")
        ]
        rejected = last(case, "StepRejected")
        assert rejected.by == OPERATOR
        assert fact(rejected)["data"]["reason"] == "client en négociation"
        assert not reducer.step_approved(case, "formal_notice")
        wake = next_wake(case, policy(B2B), None, timed_law=True)
        assert wake.kind != "step"
        _stored(case)

    def test_resume_asks_again_close_ends_it(self) -> None:
        case = _awaiting()
        apply(case, _decision("reject", reason="attendre"))
        resumed = case.model_copy(deep=True)
        apply(resumed, {"type": "resume", "reason": "négociation échouée"})
        wake = next_wake(resumed, policy(B2B), None, timed_law=True)
        assert wake.kind == "step" and wake.step is not None
        assert wake.step.key == "formal_notice", "the timeline reaches the step again"
        assert not reducer.step_approved(resumed, "formal_notice"), "so it asks again"
        reducer.request_approval(resumed, _step("formal_notice"), NOW)
        apply(resumed, _decision("approve"))
        assert reducer.step_approved(resumed, "formal_notice"), "the latest decision counts"
        assert len(entries(resumed, "ApprovalRequested")) == 2
        closed(case)
        assert case.holds == []

    def test_a_rejection_needs_a_reason(self) -> None:
        for reason in (None, "", "   "):
            body = _decision("reject") if reason is None else _decision("reject", reason=reason)
            with pytest.raises(ValidationError) as caught:
                event(body)
            assert "reason: required to reject" in str(caught.value)


class TestRefusals:
    def test_nothing_awaits_approval(self) -> None:
        rejected = _refused(new_case(), _decision("approve"))
        assert (rejected.field, rejected.message) == (
            "type",
            "no step awaits approval on this case",
        )

    def test_another_step_awaits_approval(self) -> None:
        rejected = _refused(_awaiting(), _decision("approve", step="escalation"))
        assert rejected.field == "type"
        assert rejected.message == "escalation does not await approval; formal_notice does"

    def test_a_step_is_decided_once(self) -> None:
        case = _awaiting()
        apply(case, _decision("approve"))
        assert _refused(case, _decision("reject", reason="trop tard")).field == "type"

    def test_a_closed_case(self) -> None:
        case = closed(_awaiting())
        assert _refused(case, _decision("approve")).field == "type"

    def test_a_paused_case_still_takes_the_decision(self) -> None:
        case = paused(_awaiting())
        apply(case, _decision("approve"))
        assert kinds(case) == {HoldKind.operator}, "the pause still holds the step"

    def test_a_signal_that_cannot_apply_changes_nothing(self) -> None:
        case = new_case()
        with pytest.raises(EventRejected):
            prepare_event(case, event(_decision("approve")), policy(B2B), None, NOW)
        assert case == new_case()

    def test_prepared_on_a_copy(self) -> None:
        case = _awaiting()
        prepared = prepare_event(case, event(_decision("approve")), policy(B2B), None, NOW)
        assert case.pending_approvals == ["formal_notice"], "the case itself is untouched"
        assert prepared.case.approvals[0].decision == "approve"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"step": "formal_notice", "decision": "maybe"}, "decision"),
            ({"step": "Formal Notice", "decision": "approve"}, "step"),
            ({"decision": "approve"}, "step"),
            ({"step": "formal_notice", "decision": "approve", "reason": "x" * 501}, "reason"),
        ],
    )
    def test_bad_fields_are_named(self, body: dict[str, Any], field: str) -> None:
        with pytest.raises(ValidationError) as caught:
            ApprovalDecision.model_validate(body)
        assert field in [str(e["loc"][0]) for e in caught.value.errors() if e["loc"]]

    def test_by_is_not_in_the_schema(self) -> None:
        assert "by" not in ApprovalDecision.model_json_schema()["properties"]
