"""The reducer tested directly: every event, every refusal, payments, and poison inputs.

``workflows/case_reducer.py`` is pure: these tests feed it cases opened the way the
workflow opens them and events parsed the way the API parses them, then assert the exact
state change, the journal entry and the domain event it carries (``fact``), and the
follow-ups returned. The behaviour asserted is the one ../shared/domain/default-policies.md
(events table) and french-collection-law.md prescribe; where the code disagrees, the test
states the reference and is marked ``xfail(strict=True)`` with the disagreement as reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from eventstore.registry import default_registry
from schemas.case import (
    ActionRecord,
    CaseView,
    Hold,
    HoldKind,
    Outcome,
    PaymentRecord,
    Stage,
)
from schemas.case_events import CaseEvent, MigratePolicy
from schemas.policy import Channel
from tests.unit.reducer_cases import (
    B2B,
    B2C,
    LETTER,
    MAX_AMOUNT,
    MAX_DATE,
    MIN_AMOUNT,
    MIN_DATE,
    NOW,
    apply,
    closed,
    disputed,
    entries,
    escalated,
    event,
    fact,
    hold,
    insolvent,
    kinds,
    last,
    new_case,
    paused,
    payment,
    policy,
    with_notice,
)
from workflows import case_reducer as reducer
from workflows.case_reducer import EventRejected

D = date.fromisoformat

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def refused(case: CaseView, payload: dict[str, Any] | CaseEvent) -> EventRejected:
    """check_event refuses ``payload``, and refusing changes nothing on the case."""
    before = case.model_copy(deep=True)
    parsed = event(payload) if isinstance(payload, dict) else payload
    with pytest.raises(EventRejected) as caught:
        reducer.check_event(case, parsed)
    assert case == before, "check_event must not change the case"
    return caught.value


def migrate(policy_id: str, *, version: int | None = None, reason: str = "new contract") -> Any:
    """A migrate_policy event as the API sends it on: ``policy`` resolved from the catalog."""
    parsed = event({"type": "migrate_policy", "policy_id": policy_id, "reason": reason})
    target = policy(policy_id)
    if version is not None:
        target = target.model_copy(update={"version": version})
    return parsed.model_copy(update={"policy": target})


def took(case: CaseView, *steps: str) -> CaseView:
    """The case already ran these steps of its policy."""
    for step in steps:
        case.actions.append(
            ActionRecord(
                step=step,
                label=step,
                channel=Channel.email,
                done_at=NOW - timedelta(days=10),
                status="sent",
                idempotency_key=f"{case.case_id}/{step}",
            )
        )
    return case


ALL_EVENTS: dict[str, dict[str, Any]] = {
    "promise_to_pay": {"type": "promise_to_pay", "promised_on": "2026-12-15"},
    "payment_plan": {
        "type": "payment_plan",
        "agreed_on": "2026-12-01",
        "instalments": [{"due_on": "2026-12-15", "amount": "1200.00"}],
    },
    "dispute_opened": {"type": "dispute_opened", "reason": "goods not delivered"},
    "dispute_resolved": {"type": "dispute_resolved", "outcome": "rejected"},
    "credit_note": {
        "type": "credit_note",
        "amount": "100.00",
        "reference": "AV-1",
        "issued_on": "2026-11-30",
    },
    "pause": {"type": "pause", "reason": "checking"},
    "resume": {"type": "resume", "reason": "checked"},
    "insolvency": {
        "type": "insolvency",
        "published_on": "2026-11-20",
        "proceeding": "sauvegarde",
        "mandataire": "Me Martin",
    },
    "einvoicing_status": {"type": "einvoicing_status", "code": 200, "reported_on": "2026-11-20"},
    "registered_letter_status": {
        "type": "registered_letter_status",
        "status": "delivered",
        "on": "2026-11-18",
    },
    "phone_outcome": {"type": "phone_outcome", "outcome": "no_answer"},
    "partner_report": {"type": "partner_report", "status": "accepted", "on": "2026-12-01"},
    "close": {"type": "close", "outcome": "written_off", "reason": "too small"},
}


# ---------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------


class TestRefusals:
    @pytest.mark.parametrize("kind", [*ALL_EVENTS, "migrate_policy", "retry_step"])
    def test_a_closed_case_refuses_every_event(self, kind: str) -> None:
        case = closed(with_notice(new_case()))
        if kind == "retry_step":
            case.holds = [_blocked("formal_notice").holds[0]]
        payload = (
            migrate(B2C)
            if kind == "migrate_policy"
            else {"type": "retry_step", "step": "formal_notice"}
            if kind == "retry_step"
            else ALL_EVENTS[kind]
        )
        rejected = refused(case, payload)
        assert rejected.field == "type"
        assert "closed" in rejected.message

    @pytest.mark.parametrize(
        ("setup", "payload", "field", "fragment"),
        [
            pytest.param(
                new_case,
                {"type": "resume", "reason": "go on"},
                "type",
                "not paused",
                id="resume without a pause",
            ),
            pytest.param(
                lambda: disputed(new_case()),
                {"type": "resume"},
                "type",
                "not paused",
                id="resume while only disputed",
            ),
            pytest.param(
                lambda: disputed(new_case()),
                {"type": "dispute_opened", "reason": "again"},
                "type",
                "already open",
                id="second dispute",
            ),
            pytest.param(
                new_case,
                {"type": "dispute_resolved", "outcome": "rejected"},
                "type",
                "no dispute",
                id="resolution without a dispute",
            ),
            pytest.param(
                new_case,
                {
                    "type": "credit_note",
                    "amount": "1200.01",
                    "reference": "AV-1",
                    "issued_on": "2026-11-30",
                },
                "amount",
                "exceeds the balance of 1200.00",
                id="credit note over the balance",
            ),
            pytest.param(
                lambda: disputed(new_case()),
                {"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": "1500.00"},
                "credit_note_amount",
                "exceeds the balance of 1200.00",
                id="dispute credited over the balance",
            ),
            pytest.param(
                new_case,
                {
                    "type": "payment_plan",
                    "agreed_on": "2026-12-01",
                    "instalments": [
                        {"due_on": "2026-12-15", "amount": "600.00"},
                        {"due_on": "2027-01-15", "amount": "599.99"},
                    ],
                },
                "instalments",
                "the balance is 1200.00",
                id="plan under the balance",
            ),
            pytest.param(
                new_case,
                {
                    "type": "payment_plan",
                    "agreed_on": "2026-12-01",
                    "instalments": [{"due_on": "2026-12-15", "amount": "1200.01"}],
                },
                "instalments",
                "1200.01",
                id="plan over the balance",
            ),
            pytest.param(
                new_case,
                {"type": "registered_letter_status", "status": "presented", "on": "2026-11-18"},
                "type",
                "registered letter",
                id="letter status without a notice",
            ),
            pytest.param(
                new_case,
                {"type": "partner_report", "status": "accepted", "on": "2026-12-01"},
                "type",
                "partner",
                id="partner report while amicable",
            ),
            pytest.param(
                lambda: with_notice(new_case()),
                {
                    "type": "partner_report",
                    "status": "amount_collected",
                    "on": "2026-12-01",
                    "amount": "10.00",
                },
                "type",
                "partner",
                id="partner report at the formal notice",
            ),
            pytest.param(
                lambda: insolvent(new_case()),
                {
                    "type": "insolvency",
                    "published_on": "2026-11-25",
                    "proceeding": "liquidation",
                    "mandataire": "Me Durand",
                },
                "type",
                "insolvency",
                id="second insolvency",
            ),
        ],
    )
    def test_refused(
        self,
        setup: Callable[[], CaseView],
        payload: dict[str, Any],
        field: str,
        fragment: str,
    ) -> None:
        rejected = refused(setup(), payload)
        assert rejected.field == field
        assert fragment in rejected.message, rejected.message

    def test_plan_must_total_the_balance_left_after_a_partial_payment(self) -> None:
        case = new_case()
        reducer.apply_payment(case, payment("200.00"), NOW)
        plan = {
            "type": "payment_plan",
            "agreed_on": "2026-12-01",
            "instalments": [{"due_on": "2026-12-15", "amount": "1200.00"}],
        }
        rejected = refused(case, plan)
        assert rejected.field == "instalments"
        assert "the balance is 1000.00" in rejected.message

    def test_migrating_to_the_policy_the_case_already_runs(self) -> None:
        rejected = refused(new_case(), migrate(B2B))
        assert rejected.field == "type"
        assert "already runs fr-b2b-standard v3" in rejected.message

    def test_migrating_to_a_policy_the_api_did_not_resolve(self) -> None:
        unresolved = event({"type": "migrate_policy", "policy_id": "nowhere", "reason": "x"})
        rejected = refused(new_case(), unresolved)
        assert rejected.field == "policy_id"
        assert "not resolved" in rejected.message

    def test_a_newer_version_of_the_same_policy_is_a_migration(self) -> None:
        reducer.check_event(new_case(), migrate(B2B, version=4))

    @pytest.mark.parametrize(
        "stage",
        [Stage.small_claims, Stage.injonction_de_payer, Stage.agency, Stage.enforcement],
    )
    def test_every_escalated_stage_takes_partner_reports(self, stage: Stage) -> None:
        case = escalated(new_case(), stage)
        reducer.check_event(case, event(ALL_EVENTS["partner_report"]))

    def test_money_received_beyond_the_balance_is_never_refused(self) -> None:
        collected = {"type": "einvoicing_status", "code": 212, "reported_on": "2026-11-20"}
        reducer.check_event(new_case(), event({**collected, "amount": "5000.00"}))
        report = {"type": "partner_report", "status": "amount_collected", "on": "2026-12-01"}
        reducer.check_event(escalated(new_case()), event({**report, "amount": "5000.00"}))

    def test_a_credit_of_exactly_the_balance_is_accepted(self) -> None:
        reducer.check_event(new_case(), event({**ALL_EVENTS["credit_note"], "amount": "1200.00"}))
        reducer.check_event(
            disputed(new_case()),
            event({"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": "1200"}),
        )


# ---------------------------------------------------------------------------------------
# Payments (apply_payment)
# ---------------------------------------------------------------------------------------


class TestPayments:
    def test_partial_payment_lowers_the_balance_and_restarts_prescription(self) -> None:
        case = new_case()
        assert reducer.apply_payment(case, payment("200.00", D("2026-11-20"), "VIR-1"), NOW)
        assert case.balance == Decimal("1000.00")
        assert case.stage is Stage.amicable and case.outcome is None
        assert case.payments == [
            PaymentRecord(
                amount=Decimal("200.00"),
                paid_on=D("2026-11-20"),
                reference="VIR-1",
                recorded_at=NOW,
            )
        ]
        recorded = fact(last(case, "PaymentRecorded"))
        assert recorded["type"] == "PaymentRecorded"
        assert recorded["data"] == {
            "amount": "200.00",
            "paid_on": "2026-11-20",
            "reference": "VIR-1",
            "balance_after": "1000.00",
        }
        # C. civ. 2240: a partial payment acknowledges the debt; a new 5 years from it.
        assert case.prescription_interruptions == [D("2026-11-20")]
        assert case.prescription_last_day == D("2031-11-20")

    def test_worked_example_4_partial_payment_moves_the_last_day(self) -> None:
        case = new_case(due=D("2020-06-18"))
        assert case.prescription_last_day == D("2025-06-18")
        reducer.apply_payment(case, payment("100.00", D("2022-03-10")), NOW)
        assert case.prescription_last_day == D("2027-03-10")

    def test_a_payment_after_prescription_does_not_revive_the_claim(self) -> None:
        case = new_case(due=D("2020-06-18"))
        reducer.apply_payment(case, payment("100.00", D("2025-07-01")), NOW)
        assert case.balance == Decimal("1100.00")
        assert case.prescription_last_day == D("2025-06-18")

    def test_consumer_prescription_restarts_for_two_years(self) -> None:
        case = new_case(policy_id=B2C, kind="consumer")
        assert case.prescription_last_day == D("2028-10-31")  # C. consom. L218-2
        reducer.apply_payment(case, payment("200.00", D("2026-11-20")), NOW)
        assert case.prescription_last_day == D("2028-11-20")

    def test_payment_of_the_balance_closes_the_case_as_paid(self) -> None:
        case = new_case()
        disputed(case)
        assert reducer.apply_payment(case, payment("1200.00"), NOW)
        assert case.balance == Decimal("0.00")
        assert (case.stage, case.outcome, case.closed_at) == (Stage.closed, Outcome.paid, NOW)
        assert case.holds == [] and case.next_action is None
        closing = fact(last(case, "CaseClosed"))
        assert closing["data"] == {"reason": "paid", "balance": "0.00", "closed_on": "2026-12-01"}
        assert last(case, "CaseClosed").detail.startswith("paid")

    def test_overpayment_applies_the_balance_and_journals_the_excess(self) -> None:
        case = new_case()
        assert reducer.apply_payment(case, payment("1500.00"), NOW)
        assert case.balance == Decimal("0.00")
        assert case.outcome is Outcome.paid
        assert case.payments[0].amount == Decimal("1200.00")
        assert fact(last(case, "PaymentRecorded"))["data"]["amount"] == "1200.00"
        excess = last(case, "Overpayment")
        assert "300.00" in excess.detail
        assert [e.type for e in case.journal] == ["Overpayment", "PaymentRecorded", "CaseClosed"]

    def test_a_retried_payment_is_applied_once(self) -> None:
        case = new_case()
        reducer.apply_payment(case, payment("200.00", reference="VIR-9"), NOW)
        before = case.model_copy(deep=True)
        assert reducer.apply_payment(case, payment("200.00", reference="VIR-9"), NOW) is False
        assert case == before

    def test_a_closed_case_takes_no_payment(self) -> None:
        case = closed(new_case())
        before = case.model_copy(deep=True)
        assert reducer.apply_payment(case, payment("10.00"), NOW) is False
        assert case == before

    def test_a_payment_lifts_the_awaiting_funds_hold_only(self) -> None:
        case = new_case()
        apply(case, {"type": "einvoicing_status", "code": 211, "reported_on": "2026-11-20"})
        paused(case)
        assert kinds(case) == {HoldKind.awaiting_funds, HoldKind.operator}
        reducer.apply_payment(case, payment("100.00"), NOW)
        assert kinds(case) == {HoldKind.operator}


# ---------------------------------------------------------------------------------------
# Each event, accepted
# ---------------------------------------------------------------------------------------


class TestPromiseToPay:
    def test_promise_holds_until_its_date_plus_the_policys_grace(self) -> None:
        case = new_case()
        follow_ups = apply(
            case,
            {
                "type": "promise_to_pay",
                "promised_on": "2026-12-15",
                "amount": "500.00",
                "note": "by transfer",
                "by": "alice",
            },
        )
        assert follow_ups == []
        promise = hold(case, HoldKind.promise)
        assert promise.until == D("2026-12-18")  # + promise_grace P3D (fr-b2b-standard)
        assert promise.amount == Decimal("500.00")
        assert promise.by == "alice" and promise.since == NOW
        assert "2026-12-15" in promise.reason and "by transfer" in promise.reason
        entry = last(case, "PromiseToPayMade")
        assert entry.by == "alice"
        assert fact(entry) == {
            "type": "PromiseToPayMade",
            "version": 1,
            "data": {"amount": "500.00", "promised_by": "2026-12-15", "grace_days": 3},
        }
        assert case.balance == Decimal("1200.00") and case.stage is Stage.amicable
        # Only a signed plan or a payment restarts prescription (events table, C. civ. 2240).
        assert case.prescription_interruptions == []

    def test_a_promise_without_amount_is_for_the_whole_balance(self) -> None:
        case = new_case()
        reducer.apply_payment(case, payment("200.00"), NOW)
        apply(case, {"type": "promise_to_pay", "promised_on": "2026-12-15"})
        assert hold(case, HoldKind.promise).amount == Decimal("1000.00")
        assert fact(last(case, "PromiseToPayMade"))["data"]["amount"] == "1000.00"

    def test_the_grace_comes_from_the_policy_given(self) -> None:
        case = new_case()
        slow = policy(B2B).model_copy(update={"promise_grace": timedelta(days=10)})
        parsed = event({"type": "promise_to_pay", "promised_on": "2026-12-15"})
        reducer.apply_event(case, parsed, slow, NOW)
        assert hold(case, HoldKind.promise).until == D("2026-12-25")
        assert fact(last(case, "PromiseToPayMade"))["data"]["grace_days"] == 10

    def test_a_new_promise_replaces_the_previous_one(self) -> None:
        case = new_case()
        apply(case, {"type": "promise_to_pay", "promised_on": "2026-12-15"})
        apply(case, {"type": "promise_to_pay", "promised_on": "2027-01-15"})
        assert hold(case, HoldKind.promise).until == D("2027-01-18")


class TestPaymentPlan:
    PLAN: ClassVar[dict[str, Any]] = {
        "type": "payment_plan",
        "agreed_on": "2026-12-01",
        "by": "bob",
        "instalments": [
            {"due_on": "2026-12-15", "amount": "400.00"},
            {"due_on": "2027-01-15", "amount": "400.00"},
            {"due_on": "2027-02-15", "amount": "400.00"},
        ],
    }

    def test_plan_suspends_escalation_and_restarts_prescription(self) -> None:
        case = new_case()
        assert apply(case, self.PLAN) == []
        assert case.plan is not None
        assert case.plan.plan_id == "plan-1"
        assert case.plan.agreed_on == D("2026-12-01")
        assert case.plan.instalments == [
            (D("2026-12-15"), Decimal("400.00")),
            (D("2027-01-15"), Decimal("400.00")),
            (D("2027-02-15"), Decimal("400.00")),
        ]
        assert case.plan.checked == 0 and case.plan.paid_before == Decimal("0.00")
        plan_hold = hold(case, HoldKind.payment_plan)
        assert plan_hold.by == "bob" and "3 instalments" in plan_hold.reason
        agreed = fact(last(case, "PaymentPlanAgreed"))
        assert agreed["type"] == "PaymentPlanAgreed"
        assert agreed["data"] == {
            "plan_id": "plan-1",
            "agreed_on": "2026-12-01",
            "instalments": [
                {"due_on": "2026-12-15", "amount": "400.00"},
                {"due_on": "2027-01-15", "amount": "400.00"},
                {"due_on": "2027-02-15", "amount": "400.00"},
            ],
        }
        assert case.prescription_interruptions == [D("2026-12-01")]  # C. civ. 2240
        assert case.prescription_last_day == D("2031-12-01")
        assert case.balance == Decimal("1200.00")

    def test_a_plan_after_a_payment_counts_what_was_paid_before(self) -> None:
        case = new_case()
        reducer.apply_payment(case, payment("300.00", D("2026-11-20")), NOW)
        plan = {**self.PLAN, "instalments": [{"due_on": "2026-12-15", "amount": "900.00"}]}
        apply(case, plan)
        assert case.plan is not None and case.plan.paid_before == Decimal("300.00")
        assert case.prescription_interruptions == [D("2026-11-20"), D("2026-12-01")]

    def test_a_second_plan_gets_its_own_id(self) -> None:
        case = new_case()
        apply(case, self.PLAN)
        apply(case, {**self.PLAN, "agreed_on": "2026-12-10"})
        assert case.plan is not None and case.plan.plan_id == "plan-2"
        assert [fact(e)["data"]["plan_id"] for e in entries(case, "PaymentPlanAgreed")] == [
            "plan-1",
            "plan-2",
        ]
        assert len([h for h in case.holds if h.kind is HoldKind.payment_plan]) == 1


class TestDisputes:
    def test_dispute_opened_suspends_every_step(self) -> None:
        case = new_case()
        follow_ups = apply(
            case, {"type": "dispute_opened", "reason": "goods not delivered", "by": "debtor"}
        )
        assert follow_ups == []
        dispute = hold(case, HoldKind.dispute)
        assert (dispute.reason, dispute.by, dispute.since, dispute.ref) == (
            "goods not delivered",
            "debtor",
            NOW,
            "dispute-1",
        )
        opened = last(case, "DisputeOpened")
        assert opened.by == "debtor"
        assert fact(opened)["data"] == {
            "dispute_id": "dispute-1",
            "opened_on": "2026-12-01",
            "reason": "goods not delivered",
            "disputed_amount": None,
        }

    def test_rejected_dispute_resumes_the_case(self) -> None:
        case = disputed(new_case())
        follow_ups = apply(
            case,
            {"type": "dispute_resolved", "outcome": "rejected", "note": "delivered", "by": "c"},
        )
        assert follow_ups == []
        assert HoldKind.dispute not in kinds(case)
        assert case.balance == Decimal("1200.00") and case.stage is Stage.amicable
        resolved = last(case, "DisputeResolved")
        assert resolved.by == "c"
        assert fact(resolved)["data"] == {
            "dispute_id": "dispute-1",
            "resolved_on": "2026-12-01",
            "outcome": "rejected",
            "credited_amount": "0.00",
        }

    def test_upheld_without_credit_note_cancels_the_invoice(self) -> None:
        case = disputed(new_case())
        apply(case, {"type": "dispute_resolved", "outcome": "upheld"})
        assert (case.stage, case.outcome, case.closed_at) == (Stage.closed, Outcome.cancelled, NOW)
        assert case.holds == []
        data = fact(last(case, "DisputeResolved"))["data"]
        assert (data["outcome"], data["credited_amount"]) == ("upheld", "1200.00")
        assert fact(last(case, "CaseClosed"))["data"]["reason"] == "cancelled"

    def test_upheld_in_part_credits_the_amount_and_resumes_on_the_rest(self) -> None:
        case = disputed(new_case())
        upheld = {"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": "200.00"}
        apply(case, upheld)
        assert case.balance == Decimal("1000.00") and case.credited == Decimal("200.00")
        assert case.stage is Stage.amicable and HoldKind.dispute not in kinds(case)
        data = fact(last(case, "DisputeResolved"))["data"]
        assert (data["outcome"], data["credited_amount"]) == ("partly_upheld", "200.00")
        credit = fact(last(case, "CreditNoteIssued"))["data"]
        assert (credit["amount"], credit["balance_after"]) == ("200.00", "1000.00")

    def test_upheld_for_the_whole_balance_closes_as_cancelled(self) -> None:
        case = disputed(new_case())
        upheld = {"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": "1200"}
        apply(case, upheld)
        assert (case.stage, case.outcome, case.balance) == (
            Stage.closed,
            Outcome.cancelled,
            Decimal("0.00"),
        )

    def test_a_dispute_after_a_resolved_one_gets_a_new_id(self) -> None:
        case = disputed(new_case())
        apply(case, {"type": "dispute_resolved", "outcome": "rejected"})
        disputed(case, "wrong quantity")
        assert hold(case, HoldKind.dispute).ref == "dispute-2"
        resolved = apply(case, {"type": "dispute_resolved", "outcome": "rejected"})
        assert resolved == []
        assert fact(last(case, "DisputeResolved"))["data"]["dispute_id"] == "dispute-2"

    def test_open_dispute_directly(self) -> None:
        case = new_case()
        reducer.open_dispute(case, "price", "carol", NOW)
        assert hold(case, HoldKind.dispute).ref == "dispute-1"
        assert fact(last(case, "DisputeOpened"))["data"]["reason"] == "price"
        assert last(case, "DisputeOpened").by == "carol"


class TestCreditNote:
    def test_credit_note_lowers_the_balance(self) -> None:
        case = new_case()
        credit = {
            "type": "credit_note",
            "amount": "150.00",
            "reference": "AV-7",
            "issued_on": "2026-11-28",
        }
        assert apply(case, credit) == []
        assert case.balance == Decimal("1050.00") and case.credited == Decimal("150.00")
        assert case.stage is Stage.amicable and case.payments == []
        issued = fact(last(case, "CreditNoteIssued"))
        assert issued["type"] == "CreditNoteIssued"
        assert issued["data"] == {
            "amount": "150.00",
            "reference": "AV-7",
            "balance_after": "1050.00",
            "issued_on": "2026-11-28",
        }

    def test_credit_note_for_the_balance_closes_as_cancelled(self) -> None:
        case = new_case()
        reducer.apply_payment(case, payment("200.00"), NOW)
        apply(case, {**ALL_EVENTS["credit_note"], "amount": "1000.00"})
        assert (case.stage, case.outcome, case.balance) == (
            Stage.closed,
            Outcome.cancelled,
            Decimal("0.00"),
        )
        assert fact(last(case, "CaseClosed"))["data"]["reason"] == "cancelled"


class TestPauseResume:
    def test_pause_holds_with_who_and_why(self) -> None:
        case = new_case()
        assert apply(case, {"type": "pause", "reason": "checking with sales", "by": "alice"}) == []
        operator = hold(case, HoldKind.operator)
        assert (operator.reason, operator.by, operator.since) == (
            "checking with sales",
            "alice",
            NOW,
        )
        entry = last(case, "CasePaused")
        assert entry.by == "alice"
        assert fact(entry) == {
            "type": "CasePaused",
            "version": 1,
            "data": {"reason": "checking with sales"},
        }

    def test_resume_lifts_the_operator_hold_only(self) -> None:
        case = disputed(paused(new_case()))
        assert apply(case, {"type": "resume", "reason": "sales agree", "by": "bob"}) == []
        assert kinds(case) == {HoldKind.dispute}
        entry = last(case, "CaseResumed")
        assert entry.by == "bob"
        assert fact(entry)["data"] == {"reason": "sales agree"}

    def test_resume_without_reason_says_resumed(self) -> None:
        case = paused(new_case())
        apply(case, {"type": "resume"})
        assert fact(last(case, "CaseResumed"))["data"]["reason"]


class TestInsolvency:
    @pytest.mark.parametrize(
        ("proceeding", "stored"),
        [
            ("sauvegarde", "sauvegarde"),
            ("redressement", "redressement_judiciaire"),
            ("liquidation", "liquidation_judiciaire"),
        ],
    )
    def test_insolvency_freezes_and_asks_for_the_claim_declaration(
        self, proceeding: str, stored: str
    ) -> None:
        case = new_case()
        apply(case, {"type": "promise_to_pay", "promised_on": "2026-12-15"})
        follow_ups = apply(
            case,
            {
                "type": "insolvency",
                "published_on": "2026-11-20",
                "proceeding": proceeding,
                "mandataire": "Me Martin",
                "court": "Tribunal de commerce de Paris",
                "by": "bodacc",
            },
        )
        assert follow_ups == [reducer.FOLLOW_UP_DECLARE_CLAIM] == ["declare_claim"]
        assert case.stage is Stage.insolvency
        assert case.claim_declaration_deadline == D("2027-01-20")  # R622-24: 2 months
        assert case.mandataire == "Me Martin"
        assert case.insolvency_published_on == D("2026-11-20")
        frozen = hold(case, HoldKind.insolvency)
        assert frozen.by == "bodacc" and "Me Martin" in frozen.reason
        entry = last(case, "InsolvencyDetected")
        assert entry.by == "bodacc"
        assert fact(entry)["data"] == {
            "proceeding": stored,
            "published_on": "2026-11-20",
            "court": "Tribunal de commerce de Paris",
            "claim_deadline": "2027-01-20",
        }

    def test_the_claim_deadline_is_not_moved_off_a_weekend(self) -> None:
        # A deadline the creditor must meet: plan on the unextended day (law page, s.7).
        case = new_case()
        apply(
            case,
            {
                "type": "insolvency",
                "published_on": "2026-11-30",
                "proceeding": "liquidation",
                "mandataire": "Me Martin",
            },
        )
        assert case.claim_declaration_deadline == D("2027-01-30")  # a Saturday
        assert fact(last(case, "InsolvencyDetected"))["data"]["court"]

    def test_the_deadline_ends_on_the_last_day_of_a_shorter_month(self) -> None:
        case = new_case()
        apply(
            case,
            {
                "type": "insolvency",
                "published_on": "2026-12-31",
                "proceeding": "sauvegarde",
                "mandataire": "Me Martin",
            },
        )
        assert case.claim_declaration_deadline == D("2027-02-28")


EINVOICING = [
    # code, setup, expected stage, outcome, hold kinds, balance
    (200, new_case, Stage.amicable, None, set(), "1200.00"),
    (206, new_case, Stage.amicable, None, {HoldKind.dispute}, "1200.00"),
    (207, new_case, Stage.amicable, None, {HoldKind.dispute}, "1200.00"),
    (208, new_case, Stage.amicable, None, {HoldKind.dispute}, "1200.00"),
    (209, lambda: disputed(new_case()), Stage.amicable, None, set(), "1200.00"),
    (210, new_case, Stage.closed, Outcome.cancelled, set(), "1200.00"),
    (211, new_case, Stage.amicable, None, {HoldKind.awaiting_funds}, "1200.00"),
    (212, new_case, Stage.closed, Outcome.paid, set(), "0.00"),
    (213, new_case, Stage.closed, Outcome.cancelled, set(), "1200.00"),
    (220, new_case, Stage.closed, Outcome.cancelled, set(), "1200.00"),
    (224, new_case, Stage.amicable, None, set(), "1200.00"),
    (225, new_case, Stage.amicable, None, {HoldKind.factored}, "1200.00"),
    (226, new_case, Stage.amicable, None, set(), "1200.00"),
    (227, new_case, Stage.amicable, None, set(), "1200.00"),
]


class TestEInvoicing:
    @pytest.mark.parametrize(
        ("code", "setup", "stage", "outcome", "holds", "balance"),
        EINVOICING,
        ids=[str(row[0]) for row in EINVOICING],
    )
    def test_each_status_code(
        self,
        code: int,
        setup: Callable[[], CaseView],
        stage: Stage,
        outcome: Outcome | None,
        holds: set[HoldKind],
        balance: str,
    ) -> None:
        case = setup()
        status = {"type": "einvoicing_status", "code": code, "reported_on": "2026-11-20"}
        assert apply(case, {**status, "by": "pdp"}) == []
        assert (case.stage, case.outcome) == (stage, outcome)
        assert kinds(case) == holds
        assert case.balance == Decimal(balance)
        entry = entries(case, "EInvoicingStatusReceived")[-1]
        assert entry.by == "pdp"
        received = fact(entry)
        assert received["type"] == "EInvoicingStatusReceived"
        assert (received["data"]["code"], received["data"]["reported_on"]) == (code, "2026-11-20")
        assert received["data"]["meaning"]
        for held in case.holds:
            assert (held.by, held.since) == ("pdp", NOW) and held.reason

    def test_228_no_longer_factored_resumes(self) -> None:
        case = new_case()
        apply(case, {"type": "einvoicing_status", "code": 225, "reported_on": "2026-11-20"})
        apply(case, {"type": "einvoicing_status", "code": 228, "reported_on": "2026-11-25"})
        assert kinds(case) == set() and case.stage is Stage.amicable

    def test_212_for_part_records_that_amount_and_keeps_collecting(self) -> None:
        case = new_case()
        collected = {
            "type": "einvoicing_status",
            "code": 212,
            "reported_on": "2026-11-20",
            "amount": "300.00",
        }
        apply(case, collected)
        assert case.balance == Decimal("900.00") and case.stage is Stage.amicable
        assert [(p.amount, p.paid_on) for p in case.payments] == [
            (Decimal("300.00"), D("2026-11-20"))
        ]
        recorded = fact(last(case, "PaymentRecorded"))["data"]
        assert (recorded["amount"], recorded["balance_after"]) == ("300.00", "900.00")
        assert case.prescription_interruptions == [D("2026-11-20")]  # C. civ. 2240

    def test_212_beyond_the_balance_closes_paid_and_journals_the_excess(self) -> None:
        case = new_case()
        apply(
            case,
            {
                "type": "einvoicing_status",
                "code": 212,
                "reported_on": "2026-11-20",
                "amount": "2000",
            },
        )
        assert (case.outcome, case.balance) == (Outcome.paid, Decimal("0.00"))
        assert "800.00" in last(case, "Overpayment").detail

    def test_211_then_212_lifts_the_awaiting_funds_hold(self) -> None:
        case = new_case()
        apply(case, {"type": "einvoicing_status", "code": 211, "reported_on": "2026-11-20"})
        apply(
            case,
            {"type": "einvoicing_status", "code": 212, "reported_on": "2026-11-22", "amount": "1"},
        )
        assert HoldKind.awaiting_funds not in kinds(case)

    def test_207_then_209_lifts_the_platforms_dispute(self) -> None:
        case = new_case()
        apply(case, {"type": "einvoicing_status", "code": 207, "reported_on": "2026-11-20"})
        refused(case, {"type": "dispute_opened", "reason": "also by mail"})
        apply(case, {"type": "einvoicing_status", "code": 209, "reported_on": "2026-11-25"})
        assert kinds(case) == set()

    def test_a_dispute_from_the_platform_can_be_resolved(self) -> None:
        case = new_case()
        apply(case, {"type": "einvoicing_status", "code": 208, "reported_on": "2026-11-20"})
        apply(case, {"type": "dispute_resolved", "outcome": "rejected"})
        assert kinds(case) == set()
        assert fact(last(case, "DisputeResolved"))["data"]["dispute_id"]

    def test_a_redelivered_212_is_applied_once(self) -> None:
        case = new_case()
        collected = {
            "type": "einvoicing_status",
            "code": 212,
            "reported_on": "2026-11-20",
            "amount": "300.00",
            "status_id": "pdp-evt-1",
        }
        apply(case, collected)
        with contextlib.suppress(EventRejected):  # refused, or applied as a no-op
            apply(case, collected)
        assert case.balance == Decimal("900.00") and len(case.payments) == 1


LETTER_STATUSES = ["presented", "delivered", "not_collected", "refused"]


class TestRegisteredLetter:
    @pytest.mark.parametrize("status", LETTER_STATUSES)
    def test_a_presentation_starts_the_notice_deadline(self, status: str) -> None:
        # "not collected" and "refused" count as presented (Cass. 1re civ. 20 Jan 2021).
        case = with_notice(new_case())
        letter = {"type": "registered_letter_status", "status": status, "on": "2026-11-18"}
        assert apply(case, {**letter, "by": "laposte"}) == []
        notice = case.formal_notice
        assert notice is not None
        assert notice.first_presented_on == D("2026-11-18")
        assert notice.statuses == [(status, D("2026-11-18"))]
        entry = last(case, "RegisteredLetterStatus")
        assert entry.by == "laposte"
        assert fact(entry) == {
            "type": "RegisteredLetterPresented",
            "version": 1,
            "data": {"letter_reference": LETTER, "status": status, "status_on": "2026-11-18"},
        }
        # A formal notice does not interrupt prescription (Cass. com. 18 May 2022).
        assert case.prescription_interruptions == []
        assert case.stage is Stage.formal_notice

    def test_wrong_address_is_no_presentation(self) -> None:
        case = with_notice(new_case())
        apply(
            case,
            {"type": "registered_letter_status", "status": "wrong_address", "on": "2026-11-18"},
        )
        assert case.formal_notice is not None
        assert case.formal_notice.first_presented_on is None
        assert case.formal_notice.statuses == [("wrong_address", D("2026-11-18"))]
        assert fact(last(case, "RegisteredLetterStatus"))["data"]["status"] == "wrong_address"

    def test_the_first_presentation_is_kept(self) -> None:
        case = with_notice(new_case())
        apply(case, {"type": "registered_letter_status", "status": "presented", "on": "2026-11-18"})
        apply(case, {"type": "registered_letter_status", "status": "delivered", "on": "2026-11-20"})
        assert case.formal_notice is not None
        assert case.formal_notice.first_presented_on == D("2026-11-18")
        assert [s for s, _ in case.formal_notice.statuses] == ["presented", "delivered"]

    @pytest.mark.xfail(
        strict=True,
        reason="the deadline runs from the FIRST presentation (law page s.3), i.e. the "
        "earliest date; the reducer keeps the first status REPORTED, so a provider callback "
        "arriving out of order moves the deadline later",
    )
    def test_an_earlier_presentation_reported_late_still_starts_the_deadline(self) -> None:
        case = with_notice(new_case())
        apply(case, {"type": "registered_letter_status", "status": "delivered", "on": "2026-11-20"})
        apply(case, {"type": "registered_letter_status", "status": "presented", "on": "2026-11-18"})
        assert case.formal_notice is not None
        assert case.formal_notice.first_presented_on == D("2026-11-18")


class TestPhoneOutcome:
    @pytest.mark.parametrize(
        ("outcome", "stored"), [("reached", "other"), ("no_answer", "no_answer")]
    )
    def test_a_call_without_consequence_is_logged(self, outcome: str, stored: str) -> None:
        case = new_case()
        call = {"type": "phone_outcome", "outcome": outcome, "reason": "left a message"}
        assert apply(case, {**call, "by": "dave"}) == []
        assert case.holds == [] and case.balance == Decimal("1200.00")
        entry = last(case, "PhoneCallLogged")
        assert entry.by == "dave"
        assert fact(entry)["data"] == {
            "called_at": NOW.isoformat().replace("+00:00", "Z"),
            "operator": "dave",
            "outcome": stored,
            "note": "left a message",
        }

    def test_a_call_by_no_one_named_still_names_an_operator(self) -> None:
        case = new_case()
        apply(case, {"type": "phone_outcome", "outcome": "no_answer"})
        assert fact(last(case, "PhoneCallLogged"))["data"]["operator"]

    def test_a_promise_on_the_phone_holds_like_a_promise(self) -> None:
        case = new_case()
        call = {"type": "phone_outcome", "outcome": "promise", "promised_on": "2026-12-10"}
        assert apply(case, {**call, "by": "dave"}) == []
        assert fact(last(case, "PhoneCallLogged"))["data"]["outcome"] == "promise_to_pay"
        promise = hold(case, HoldKind.promise)
        assert (promise.until, promise.by, promise.amount) == (
            D("2026-12-13"),
            "dave",
            Decimal("1200.00"),
        )
        made = fact(last(case, "PromiseToPayMade"))["data"]
        assert (made["promised_by"], made["amount"]) == ("2026-12-10", "1200.00")

    def test_a_dispute_on_the_phone_opens_one(self) -> None:
        case = new_case()
        call = {"type": "phone_outcome", "outcome": "dispute", "reason": "never ordered"}
        assert apply(case, {**call, "by": "dave"}) == []
        assert fact(last(case, "PhoneCallLogged"))["data"]["outcome"] == "dispute"
        dispute = hold(case, HoldKind.dispute)
        assert (dispute.reason, dispute.by, dispute.ref) == ("never ordered", "dave", "dispute-1")
        assert fact(last(case, "DisputeOpened"))["data"]["reason"] == "never ordered"

    def test_a_dispute_on_the_phone_while_one_is_open_is_only_logged(self) -> None:
        case = disputed(new_case())
        apply(case, {"type": "phone_outcome", "outcome": "dispute", "reason": "same again"})
        assert len(entries(case, "DisputeOpened")) == 1
        assert hold(case, HoldKind.dispute).ref == "dispute-1"
        assert fact(last(case, "PhoneCallLogged"))["data"]["outcome"] == "dispute"


class TestPartnerReport:
    @pytest.mark.parametrize("status", ["accepted", "in_progress"])
    def test_progress_is_journaled(self, status: str) -> None:
        case = escalated(new_case())
        report = {"type": "partner_report", "status": status, "on": "2026-12-01", "note": "ok"}
        assert apply(case, {**report, "by": "cdj"}) == []
        assert case.stage is Stage.small_claims and case.balance == Decimal("1200.00")
        assert case.prescription_interruptions == []
        entry = last(case, "PartnerReport")
        assert entry.by == "cdj"
        reported = fact(entry)
        assert reported["type"] == "PartnerReported"
        assert reported["data"] == {
            "status": status,
            "reported_on": "2026-12-01",
            "amount": None,
            "result": None,
            "note": "ok",
        }

    def test_amount_collected_is_a_payment(self) -> None:
        case = escalated(new_case(), Stage.agency)
        report = {
            "type": "partner_report",
            "status": "amount_collected",
            "on": "2026-11-25",
            "amount": "400.00",
        }
        assert apply(case, report) == []
        assert case.balance == Decimal("800.00") and case.stage is Stage.agency
        assert [(p.amount, p.paid_on) for p in case.payments] == [
            (Decimal("400.00"), D("2026-11-25"))
        ]
        assert fact(last(case, "PartnerReport"))["data"]["amount"] == "400.00"
        assert fact(last(case, "PaymentRecorded"))["data"]["balance_after"] == "800.00"
        assert case.prescription_interruptions == [D("2026-11-25")]

    def test_two_collections_the_same_day_are_two_payments(self) -> None:
        case = escalated(new_case(), Stage.agency)
        report = {
            "type": "partner_report",
            "status": "amount_collected",
            "on": "2026-11-25",
            "amount": "100.00",
            "report_id": "agency-1",
        }
        apply(case, report)
        apply(case, {**report, "report_id": "agency-2"})
        assert case.balance == Decimal("1000.00") and len(case.payments) == 2

    def test_a_redelivered_collection_is_applied_once(self) -> None:
        case = escalated(new_case(), Stage.agency)
        report = {
            "type": "partner_report",
            "status": "amount_collected",
            "on": "2026-11-25",
            "amount": "100.00",
            "report_id": "agency-1",
        }
        apply(case, report)
        with contextlib.suppress(EventRejected):  # refused, or applied as a no-op
            apply(case, report)
        assert case.balance == Decimal("1100.00") and len(case.payments) == 1

    def test_collection_of_the_balance_closes_as_paid(self) -> None:
        case = escalated(new_case(), Stage.enforcement)
        report = {
            "type": "partner_report",
            "status": "amount_collected",
            "on": "2026-11-25",
            "amount": "1300.00",
        }
        apply(case, report)
        assert (case.stage, case.outcome, case.balance) == (
            Stage.closed,
            Outcome.paid,
            Decimal("0.00"),
        )
        assert "100.00" in last(case, "Overpayment").detail

    def test_title_obtained_interrupts_and_asks_for_enforcement(self) -> None:
        case = escalated(new_case(), Stage.injonction_de_payer)
        title = {"type": "partner_report", "status": "title_obtained", "on": "2027-03-01"}
        assert apply(case, title) == [reducer.FOLLOW_UP_ENFORCEMENT] == ["enforcement_handoff"]
        assert case.prescription_interruptions == [D("2027-03-01")]  # C. civ. 2241
        assert case.stage is Stage.injonction_de_payer and case.outcome is None

    @pytest.mark.xfail(
        strict=True,
        reason="an enforceable title can be enforced for 10 years (CPCE L111-4, law page "
        "s.5); the reducer restarts the ordinary period (5 years B2B, 2 years B2C)",
    )
    def test_after_a_title_the_claim_lasts_ten_years(self) -> None:
        case = escalated(new_case(), Stage.injonction_de_payer)
        apply(case, {"type": "partner_report", "status": "title_obtained", "on": "2027-03-01"})
        assert case.prescription_last_day == D("2037-03-01")

    def test_an_enforcement_measure_interrupts_prescription(self) -> None:
        case = escalated(new_case(), Stage.enforcement)
        measure = {"type": "partner_report", "status": "enforcement_measure", "on": "2027-04-02"}
        assert apply(case, measure) == []
        assert case.prescription_interruptions == [D("2027-04-02")]  # C. civ. 2244
        assert case.prescription_last_day == D("2032-04-02")

    def test_closed_uncollectable_writes_the_case_off(self) -> None:
        case = escalated(new_case(), Stage.agency)
        report = {
            "type": "partner_report",
            "status": "closed",
            "on": "2027-01-10",
            "result": "uncollectable",
            "by": "agency",
        }
        assert apply(case, report) == []
        assert (case.stage, case.outcome, case.closed_at) == (
            Stage.closed,
            Outcome.written_off,
            NOW,
        )
        assert fact(last(case, "PartnerReport"))["data"]["result"] == "uncollectable"
        closing = last(case, "CaseClosed")
        assert closing.by == "agency"
        assert fact(closing)["data"]["reason"] == "written_off"

    def test_closed_withdrawn_waits_for_the_next_phase(self) -> None:
        case = escalated(new_case(), Stage.agency)
        report = {"type": "partner_report", "status": "closed", "on": "2027-01-10"}
        apply(case, {**report, "result": "withdrawn"})
        assert case.stage is Stage.awaiting_next_phase and case.outcome is None
        assert case.balance == Decimal("1200.00")


class TestMigratePolicy:
    def test_steps_taken_keep_their_place(self) -> None:
        case = took(new_case(), "reminder_1", "reminder_2")
        case.steps_done = 2
        assert apply(case, migrate(B2C).model_copy(update={"by": "eve"})) == []
        target = policy(B2C).version
        assert (case.policy_id, case.policy_version, case.steps_done) == (B2C, target, 2)
        entry = last(case, "PolicyMigrated")
        assert entry.by == "eve"
        assert fact(entry)["data"] == {
            "from_policy": B2B,
            "from_version": 3,
            "to_policy": B2C,
            "to_version": target,
            "reason": "new contract",
        }

    def test_the_next_step_is_the_first_not_taken(self) -> None:
        case = took(new_case(), "reminder_1", "call")  # reminder_2 never ran
        apply(case, migrate(B2C))
        assert case.steps_done == 1

    def test_a_newer_version_of_the_same_policy(self) -> None:
        case = took(new_case(), "reminder_1")
        apply(case, migrate(B2B, version=4, reason="v4 published"))
        assert (case.policy_id, case.policy_version, case.steps_done) == (B2B, 4, 1)
        data = fact(last(case, "PolicyMigrated"))["data"]
        assert (data["from_version"], data["to_version"], data["reason"]) == (3, 4, "v4 published")

    def test_migrate_policy_directly(self) -> None:
        case = new_case()
        reducer.migrate_policy(case, policy("demo"), "demo for sales", "frank", NOW)
        assert (case.policy_id, case.steps_done) == ("demo", 0)
        assert last(case, "PolicyMigrated").by == "frank"
        assert case.stage is Stage.amicable


class TestCloseCase:
    @pytest.mark.parametrize("outcome", ["written_off", "cancelled", "handed_over"])
    def test_closing_by_an_operator(self, outcome: str) -> None:
        case = disputed(new_case())
        close = {"type": "close", "outcome": outcome, "reason": "decided", "by": "gina"}
        assert apply(case, close) == []
        assert (case.stage, case.outcome, case.closed_at) == (Stage.closed, Outcome(outcome), NOW)
        assert case.holds == [] and case.next_action is None
        closing = last(case, "CaseClosed")
        assert closing.by == "gina"
        assert fact(closing)["data"] == {
            "reason": outcome,
            "balance": "1200.00",
            "closed_on": "2026-12-01",
        }

    def test_handed_over_before_escalation_goes_back_to_the_creditor(self) -> None:
        case = new_case()
        apply(case, {"type": "close", "outcome": "handed_over", "reason": "Créancier SAS"})
        data = fact(last(case, "CaseHandedOver"))["data"]
        assert (data["party"], data["party_name"], data["handed_over_on"]) == (
            "creditor",
            "Créancier SAS",
            "2026-12-01",
        )
        assert [e.type for e in case.journal][-2:] == ["CaseHandedOver", "CaseClosed"]

    def test_handed_over_from_the_agency_stage(self) -> None:
        case = escalated(new_case(), Stage.agency)
        apply(case, {"type": "close", "outcome": "handed_over", "reason": "Recouvra SA"})
        assert fact(last(case, "CaseHandedOver"))["data"]["party"] == "collection_agency"

    @pytest.mark.parametrize("stage", [Stage.small_claims, Stage.enforcement])
    def test_handed_over_from_a_commissaire_stage(self, stage: Stage) -> None:
        case = escalated(new_case(), stage)
        apply(case, {"type": "close", "outcome": "handed_over", "reason": "Me Huissier"})
        assert fact(last(case, "CaseHandedOver"))["data"]["party"] == "commissaire_de_justice"

    def test_close_directly(self) -> None:
        case = paused(new_case())
        reducer.close(case, Outcome.prescribed, NOW, "last day passed", "system")
        assert (case.stage, case.outcome, case.holds) == (Stage.closed, Outcome.prescribed, [])
        closing = last(case, "CaseClosed")
        assert closing.by == "system" and "last day passed" in closing.detail
        assert fact(closing)["data"]["reason"] == "prescribed"


class TestRetryStep:
    """An operator re-runs a step that failed for good (its ``blocked`` hold names it)."""

    def test_retry_lifts_the_failed_steps_hold_only(self) -> None:
        case = _blocked("formal_notice")
        reducer.put_hold(
            case, Hold(kind=HoldKind.blocked, since=NOW, reason="r1 failed", ref="reminder_1")
        )
        paused(case)
        retry = {"type": "retry_step", "step": "formal_notice", "note": "address fixed"}
        assert apply(case, {**retry, "by": "hana"}) == []
        assert sorted((h.kind.value, h.ref or "") for h in case.holds) == [
            ("blocked", "reminder_1"),
            ("operator", ""),
        ]
        entry = last(case, "StepRetried")
        assert entry.by == "hana"
        assert fact(entry) == {
            "type": "StepRetried",
            "version": 1,
            "data": {"step": "formal_notice", "note": "address fixed"},
        }

    def test_retry_without_a_failed_step_is_refused(self) -> None:
        rejected = refused(new_case(), {"type": "retry_step", "step": "formal_notice"})
        assert rejected.field == "type"

    def test_retry_of_a_step_that_did_not_fail_is_refused(self) -> None:
        rejected = refused(_blocked("formal_notice"), {"type": "retry_step", "step": "reminder_1"})
        assert rejected.field == "step"
        assert "formal_notice" in rejected.message


class TestHolds:
    def test_put_hold_replaces_a_hold_of_the_same_kind(self) -> None:
        case = new_case()
        first = Hold(kind=HoldKind.operator, since=NOW, reason="one", by="a")
        second = Hold(kind=HoldKind.operator, since=NOW, reason="two", by="b")
        reducer.put_hold(case, first)
        reducer.put_hold(case, Hold(kind=HoldKind.factored, since=NOW, reason="f"))
        reducer.put_hold(case, second)
        assert reducer.has_hold(case, HoldKind.operator)
        assert hold(case, HoldKind.operator).reason == "two"
        assert kinds(case) == {HoldKind.operator, HoldKind.factored}
        reducer.lift_hold(case, HoldKind.operator)
        assert not reducer.has_hold(case, HoldKind.operator)
        assert kinds(case) == {HoldKind.factored}

    def test_only_insolvency_asks_for_a_follow_up_among_plain_events(self) -> None:
        returned: dict[str, list[str]] = {}
        for kind, payload in ALL_EVENTS.items():
            case = new_case()
            if kind == "resume":
                paused(case)
            if kind == "dispute_resolved":
                disputed(case)
            if kind == "registered_letter_status":
                with_notice(case)
            if kind == "partner_report":
                escalated(case)
            returned[kind] = apply(case, payload)
        assert returned == {
            kind: (["declare_claim"] if kind == "insolvency" else []) for kind in ALL_EVENTS
        }


# ---------------------------------------------------------------------------------------
# Poison inputs: what the API accepts must apply without an exception
# ---------------------------------------------------------------------------------------

S_NOTE = "n" * 500
S_REF = "r" * 100
S_NAME = "m" * 200
S_BY = "b" * 100


def _fresh() -> CaseView:
    return new_case()


def _max_case() -> CaseView:
    return new_case(MAX_AMOUNT)


def _min_case() -> CaseView:
    return new_case(MIN_AMOUNT)


def _noticed() -> CaseView:
    return with_notice(new_case())


def _partnered() -> CaseView:
    return escalated(new_case(), Stage.agency)


def _paused() -> CaseView:
    return paused(new_case())


def _disputed() -> CaseView:
    return disputed(new_case())


def _max_disputed() -> CaseView:
    return disputed(new_case(MAX_AMOUNT))


def _factored() -> CaseView:
    case = new_case()
    apply(case, {"type": "einvoicing_status", "code": 225, "reported_on": "2026-11-20"})
    return case


def _blocked(step: str) -> CaseView:
    """A step failed for good: the case waits on a ``blocked`` hold for an operator."""
    case = new_case()
    reason = f"{step} failed: provider down"
    reducer.put_hold(case, Hold(kind=HoldKind.blocked, since=NOW, reason=reason, ref=step))
    return case


def _boundary_rows() -> list[Any]:
    """(setup, payload, whether the schema may refuse it): every event type, each field
    at its bounds. A row marked True is a value the API may turn away with a 422 (then
    nothing reaches the reducer, which is fine); the others must reach it."""
    rows: list[tuple[str, Callable[[], CaseView], dict[str, Any], bool]] = []

    def row(
        name: str, setup: Callable[[], CaseView], payload: dict[str, Any], may_refuse: bool = False
    ) -> None:
        rows.append((name, setup, payload, may_refuse))

    for day in (MIN_DATE, MAX_DATE):
        d = day.isoformat()
        row(f"promise {d}", _fresh, {"type": "promise_to_pay", "promised_on": d})
        row(
            f"promise {d} max amount max note max by",
            _fresh,
            {
                "type": "promise_to_pay",
                "promised_on": d,
                "amount": MAX_AMOUNT,
                "note": S_NOTE,
                "by": S_BY,
            },
        )
        row(
            f"promise {d} min amount empty note empty by",
            _fresh,
            {
                "type": "promise_to_pay",
                "promised_on": d,
                "amount": MIN_AMOUNT,
                "note": "",
                "by": "",
            },
        )
        row(
            f"plan {d} min",
            _min_case,
            {
                "type": "payment_plan",
                "agreed_on": d,
                "instalments": [{"due_on": d, "amount": MIN_AMOUNT}],
            },
        )
        row(
            f"plan {d} max",
            _max_case,
            {
                "type": "payment_plan",
                "agreed_on": d,
                "instalments": [{"due_on": d, "amount": MAX_AMOUNT}],
            },
        )
        row(
            f"credit note {d} min max reference",
            _fresh,
            {"type": "credit_note", "amount": MIN_AMOUNT, "reference": S_REF, "issued_on": d},
        )
        row(
            f"credit note {d} max amount",
            _max_case,
            {"type": "credit_note", "amount": MAX_AMOUNT, "reference": "AV", "issued_on": d},
        )
        row(
            f"insolvency {d} max names",
            _fresh,
            {
                "type": "insolvency",
                "published_on": d,
                "proceeding": "liquidation",
                "mandataire": S_NAME,
                "court": S_NAME,
                "by": S_BY,
            },
        )
        row(
            f"insolvency {d} default court",
            _fresh,
            {
                "type": "insolvency",
                "published_on": d,
                "proceeding": "redressement",
                "mandataire": "M",
            },
        )
        row(
            f"insolvency {d} empty court",
            _fresh,
            {
                "type": "insolvency",
                "published_on": d,
                "proceeding": "sauvegarde",
                "mandataire": "M",
                "court": "",
            },
            may_refuse=True,
        )
        row(
            f"insolvency {d} blank court",
            _fresh,
            {
                "type": "insolvency",
                "published_on": d,
                "proceeding": "sauvegarde",
                "mandataire": "M",
                "court": "   ",
            },
            may_refuse=True,
        )
        for status in ("presented", "delivered", "not_collected", "refused", "wrong_address"):
            row(
                f"letter {status} {d}",
                _noticed,
                {"type": "registered_letter_status", "status": status, "on": d, "by": ""},
            )
        row(
            f"phone promise {d} empty reason empty by",
            _fresh,
            {
                "type": "phone_outcome",
                "outcome": "promise",
                "promised_on": d,
                "reason": "",
                "by": "",
            },
        )
        row(
            f"phone promise {d} max reason max by",
            _fresh,
            {
                "type": "phone_outcome",
                "outcome": "promise",
                "promised_on": d,
                "reason": S_NOTE,
                "by": S_BY,
            },
        )
        for status in ("accepted", "in_progress", "title_obtained", "enforcement_measure"):
            row(
                f"partner {status} {d}",
                _partnered,
                {"type": "partner_report", "status": status, "on": d, "note": "", "by": ""},
            )
        row(
            f"partner collected {d} max",
            _partnered,
            {
                "type": "partner_report",
                "status": "amount_collected",
                "on": d,
                "amount": MAX_AMOUNT,
                "note": S_NOTE,
            },
        )
        for report_id in ("p", "p" * 92, "p" * 93, S_REF):
            row(
                f"partner collected {d} report_id of {len(report_id)}",
                _partnered,
                {
                    "type": "partner_report",
                    "status": "amount_collected",
                    "on": d,
                    "amount": "10.00",
                    "report_id": report_id,
                },
            )
        row(
            f"partner accepted {d} report_id of 100",
            _partnered,
            {"type": "partner_report", "status": "accepted", "on": d, "report_id": S_REF},
        )
        row(
            f"partner collected {d} min",
            _partnered,
            {
                "type": "partner_report",
                "status": "amount_collected",
                "on": d,
                "amount": MIN_AMOUNT,
                "note": "",
            },
        )
        row(
            f"partner accepted {d} with amount",
            _partnered,
            {"type": "partner_report", "status": "accepted", "on": d, "amount": MAX_AMOUNT},
        )
        for result in ("uncollectable", "withdrawn"):
            row(
                f"partner closed {result} {d}",
                _partnered,
                {"type": "partner_report", "status": "closed", "on": d, "result": result},
            )
        for code in (200, 206, 207, 208, 210, 211, 212, 213, 220, 224, 225, 226, 227):
            row(
                f"einvoicing {code} {d}",
                _fresh,
                {"type": "einvoicing_status", "code": code, "reported_on": d},
            )
        for code in (209,):
            row(
                f"einvoicing {code} {d}",
                _disputed,
                {"type": "einvoicing_status", "code": code, "reported_on": d},
            )
        row(
            f"einvoicing 228 {d}",
            _factored,
            {"type": "einvoicing_status", "code": 228, "reported_on": d},
        )
        for amount in (MIN_AMOUNT, MAX_AMOUNT):
            row(
                f"einvoicing 212 {d} {amount}",
                _fresh,
                {
                    "type": "einvoicing_status",
                    "code": 212,
                    "reported_on": d,
                    "amount": amount,
                },
            )
        for status_id in ("s", "s" * 89, "s" * 90, S_REF):
            for code in (212, 207):
                row(
                    f"einvoicing {code} {d} status_id of {len(status_id)}",
                    _fresh,
                    {
                        "type": "einvoicing_status",
                        "code": code,
                        "reported_on": d,
                        "amount": "10.00",
                        "status_id": status_id,
                    },
                )
        row(
            f"einvoicing 200 {d} with amount",
            _fresh,
            {"type": "einvoicing_status", "code": 200, "reported_on": d, "amount": MAX_AMOUNT},
        )
    sixty = [
        {"due_on": (date(2027, 1, 1) + timedelta(days=i)).isoformat(), "amount": "0.01"}
        for i in range(60)
    ]
    row(
        "plan of 60 instalments",
        lambda: new_case("0.60"),
        {"type": "payment_plan", "agreed_on": "2026-12-01", "instalments": sixty, "by": S_BY},
    )
    row(
        "plan of 60 instalments summing to the max",
        _max_case,
        {
            "type": "payment_plan",
            "agreed_on": "2026-12-01",
            "instalments": [
                *sixty[:59],
                {"due_on": "2027-03-01", "amount": str(Decimal(MAX_AMOUNT) - Decimal("0.59"))},
            ],
        },
    )
    row(
        "dispute max reason max by",
        _fresh,
        {"type": "dispute_opened", "reason": S_NOTE, "by": S_BY},
    )
    row("dispute one-character reason", _fresh, {"type": "dispute_opened", "reason": "x"})
    row(
        "dispute upheld empty note",
        _disputed,
        {"type": "dispute_resolved", "outcome": "upheld", "note": ""},
    )
    row(
        "dispute upheld min credit max note",
        _disputed,
        {
            "type": "dispute_resolved",
            "outcome": "upheld",
            "credit_note_amount": MIN_AMOUNT,
            "note": S_NOTE,
        },
    )
    row(
        "dispute upheld max credit",
        _max_disputed,
        {"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": MAX_AMOUNT},
    )
    row(
        "dispute rejected with a credit",
        _disputed,
        {"type": "dispute_resolved", "outcome": "rejected", "credit_note_amount": MIN_AMOUNT},
    )
    row(
        "dispute rejected empty note empty by",
        _disputed,
        {"type": "dispute_resolved", "outcome": "rejected", "note": "", "by": ""},
    )
    row("pause max reason", _fresh, {"type": "pause", "reason": S_NOTE, "by": S_BY})
    row("pause one-character reason", _fresh, {"type": "pause", "reason": "x", "by": ""})
    row("resume default reason", _paused, {"type": "resume"})
    row("resume max reason", _paused, {"type": "resume", "reason": S_NOTE, "by": S_BY})
    row("resume empty reason", _paused, {"type": "resume", "reason": ""}, may_refuse=True)
    row("resume blank reason", _paused, {"type": "resume", "reason": "   "}, may_refuse=True)
    row(
        "phone reached empty reason",
        _fresh,
        {"type": "phone_outcome", "outcome": "reached", "reason": ""},
    )
    row(
        "phone no answer no reason empty by",
        _fresh,
        {"type": "phone_outcome", "outcome": "no_answer", "by": ""},
    )
    row(
        "phone dispute max reason",
        _fresh,
        {"type": "phone_outcome", "outcome": "dispute", "reason": S_NOTE, "by": S_BY},
    )
    row(
        "phone dispute while disputed",
        _disputed,
        {"type": "phone_outcome", "outcome": "dispute", "reason": "x"},
    )
    for target in ("fr-b2c-standard", "fr-public-standard", "demo"):
        row(
            f"migrate to {target} max reason",
            _fresh,
            {"type": "migrate_policy", "policy_id": target, "reason": S_NOTE, "by": S_BY},
        )
    for outcome in ("written_off", "cancelled", "handed_over"):
        row(
            f"close {outcome} max reason",
            _fresh,
            {"type": "close", "outcome": outcome, "reason": S_NOTE, "by": S_BY},
        )
        row(
            f"close {outcome} escalated one-character reason",
            _partnered,
            {"type": "close", "outcome": outcome, "reason": "x", "by": ""},
        )
    row(
        "retry the failed step",
        lambda: _blocked("formal_notice"),
        {"type": "retry_step", "step": "formal_notice", "by": S_BY},
        may_refuse=True,
    )
    row(
        "retry a failed step of 64 characters max note",
        lambda: _blocked("s" * 64),
        {"type": "retry_step", "step": "s" * 64, "note": S_NOTE},
        may_refuse=True,
    )
    row(
        "retry a step (no step failed)",
        _fresh,
        {"type": "retry_step", "step": "formal_notice"},
        may_refuse=True,
    )
    row(
        "retry a step max note",
        _fresh,
        {"type": "retry_step", "step": "s" * 64, "note": S_NOTE},
        may_refuse=True,
    )
    return [
        pytest.param(setup, payload, may, id=name, marks=_poison_mark(name))
        for name, setup, payload, may in rows
    ]


POISON_TODAY: dict[str, str] = {}
"""Rows that pass check_event and then make apply_event raise (row id -> what is raised):
none today. A long sender id used to overflow the payment reference (fixed: a digest)."""


def _poison_mark(name: str) -> list[Any]:
    reason = POISON_TODAY.get(name)
    if reason is None:
        return []
    return [pytest.mark.xfail(strict=True, raises=ValidationError, reason=reason)]


class TestNoPoisonInput:
    """After check_event passes, apply_event must not raise: a pydantic ValidationError
    while building a domain event (or any other exception) in a workflow update's handler
    fails the workflow task over and over, i.e. a poison input. The state left must also
    survive Temporal's serialisation, and each fact must read back from the event store."""

    @pytest.mark.parametrize(("setup", "payload", "may_refuse"), _boundary_rows())
    def test_an_accepted_input_applies_cleanly(
        self, setup: Callable[[], CaseView], payload: dict[str, Any], may_refuse: bool
    ) -> None:
        case = setup()
        try:
            parsed = event(payload)
        except ValidationError:
            if may_refuse:
                return  # 422 at the API: it never reaches the reducer
            raise
        if isinstance(parsed, MigratePolicy):
            parsed = parsed.model_copy(update={"policy": policy(parsed.policy_id)})
        try:
            reducer.check_event(case, parsed)
        except EventRejected:
            return  # refused before any change: the API answers 409/422
        before = len(case.journal)
        reducer.apply_event(case, parsed, policy(case.policy_id), NOW)
        CaseView.model_validate_json(case.model_dump_json())
        registry = default_registry()
        for entry in case.journal[before:]:
            if entry.fact is not None:
                registry.load(entry.fact["type"], entry.fact["version"], entry.fact["data"])

    @pytest.mark.parametrize("when", [MIN_DATE, MAX_DATE], ids=str)
    def test_payments_at_the_bounds(self, when: date) -> None:
        for setup, amount in ((_fresh, MAX_AMOUNT), (_fresh, MIN_AMOUNT), (_max_case, MAX_AMOUNT)):
            case = setup()
            reducer.apply_payment(case, payment(amount, when, S_REF), NOW)
            CaseView.model_validate_json(case.model_dump_json())
            for entry in case.journal:
                if entry.fact is not None:
                    default_registry().load(
                        entry.fact["type"], entry.fact["version"], entry.fact["data"]
                    )
