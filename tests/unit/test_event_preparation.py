"""The validator's safety net: whatever a domain event refuses is a field-named refusal
before anything changes, never an exception inside a workflow handler."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas.case import HoldKind, PaymentIn
from schemas.case_events import OperatorPause, OperatorResume, PartnerReport, RetryStep
from tests.unit.reducer_cases import new_case, policy
from workflows import case_reducer as reducer
from workflows.event_preparation import prepare_event, prepare_payment

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_value_the_domain_event_refuses_is_rejected_before_any_change() -> None:
    case = new_case()
    paused = prepare_event(case, OperatorPause(reason="congés"), policy(), None, NOW).case
    # Built without the API's validation, as a payload from an older client could arrive.
    empty = OperatorResume.model_construct(type="resume", reason="", by=None)
    before = paused.model_dump()
    with pytest.raises(reducer.EventRejected) as refused:
        prepare_event(paused, empty, policy(), None, NOW)
    assert refused.value.field == "reason"
    assert paused.model_dump() == before, "the case did not change"


def test_a_prepared_event_leaves_the_original_case_untouched() -> None:
    case = new_case()
    before = case.model_dump()
    prepared = prepare_event(case, OperatorPause(reason="congés"), policy(), None, NOW)
    assert case.model_dump() == before
    assert [h.kind for h in prepared.case.holds] == [HoldKind.operator]


def test_a_redelivered_partner_report_changes_nothing() -> None:
    case = new_case()
    case.stage = reducer.Stage.agency
    report = PartnerReport(
        status="amount_collected", on=NOW.date(), amount=Decimal("100.00"), report_id="evt-1"
    )
    once = prepare_event(case, report, policy(), None, NOW).case
    again = prepare_event(once, report, policy(), None, NOW)
    assert not again.changed
    assert [p.reference for p in once.payments] == ["partner-evt-1"]
    assert once.balance == case.balance - Decimal("100.00")


def test_a_retry_needs_a_failed_step_and_names_the_one_that_failed() -> None:
    case = new_case()
    with pytest.raises(reducer.EventRejected, match="no step has failed"):
        prepare_event(case, RetryStep(step="reminder_1"), policy(), None, NOW)
    reducer.block_step(case, "reminder_2", "email", "InvalidRecipient: refused", NOW)
    with pytest.raises(reducer.EventRejected) as wrong:
        prepare_event(case, RetryStep(step="reminder_1"), policy(), None, NOW)
    assert wrong.value.field == "step" and "reminder_2" in wrong.value.message
    retried = prepare_event(case, RetryStep(step="reminder_2"), policy(), None, NOW).case
    assert retried.holds == []
    assert [j.type for j in retried.journal][-2:] == ["StepFailed", "StepRetried"]


def test_an_erp_payment_over_the_balance_is_refused_but_money_collected_is_applied() -> None:
    case = new_case()
    over = PaymentIn(amount=case.balance + 1, paid_on=NOW.date(), reference="VIR-9")
    with pytest.raises(reducer.EventRejected) as refused:
        prepare_payment(case, over, NOW, refuse_excess=True)
    assert refused.value.field == "amount"
    collected = prepare_payment(case, over, NOW, refuse_excess=False).case
    assert collected.balance == 0 and "Overpayment" in [j.type for j in collected.journal]
