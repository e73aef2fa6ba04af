"""A registered letter the provider will not deliver is not a served formal notice (C. civ.
1344: the debtor is put on notice by a summons "or an act of sufficient notice", which a
letter that never left cannot be); a letter it holds still leaves. The reducer's side."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from activities.channel_requests import Recipient
from schemas.case import CaseView, HoldKind, Stage
from schemas.policy import StepKind
from tests.unit.reducer_cases import B2B, LETTER, apply, event, fact, last, new_case, policy
from tests.unit.reducer_cases import with_notice as noticed
from workflows import case_reducer as reducer
from workflows.case_reducer import EventRejected
from workflows.step_requests import channel_request


def _after_notice() -> CaseView:
    """A case whose policy's formal-notice step has just run (steps_done past it)."""
    case = noticed(new_case())
    steps = policy(B2B).steps
    case.steps_done = next(i for i, s in enumerate(steps) if s.kind is StepKind.formal_notice) + 1
    return case


def _problem(anomaly: str = "rejected", reference: str = LETTER) -> dict[str, Any]:
    return {
        "type": "registered_letter_problem",
        "anomaly": anomaly,
        "reason": "le prestataire a rejeté l'envoi recommandé : il ne partira pas",
        "detail": "REJECTED: Document non conforme",
        "provider_status": "REJECTED",
        "letter_reference": reference,
        "by": "registered-mail:maileva",
    }


@pytest.mark.parametrize("anomaly", ["rejected", "recipient_rejected", "canceled"])
def test_an_undelivered_letter_sends_the_case_back_to_its_blocked_formal_notice(
    anomaly: str,
) -> None:
    case = _after_notice()
    notice_index = case.steps_done - 1
    follow_ups = apply(case, _problem(anomaly))
    assert follow_ups == [f"{reducer.FOLLOW_UP_LETTER_PROBLEM}0"], "an operator task follows"
    assert case.formal_notice is not None and case.formal_notice.undelivered == anomaly
    assert case.steps_done == notice_index, "the formal notice runs again once retried"
    assert case.stage is Stage.amicable, "no notice was served"
    blocked = [h for h in case.holds if h.kind is HoldKind.blocked]
    assert [h.ref for h in blocked] == ["formal_notice"]
    problem = fact(last(case, "RegisteredLetterProblem"))
    assert problem["type"] == "RegisteredLetterUndelivered"
    assert problem["data"]["anomaly"] == anomaly and problem["data"]["final"] is True
    assert last(case, "StepFailed").detail.startswith("formal_notice failed")


def test_a_blocked_letter_only_asks_the_operator_to_fund_the_account() -> None:
    case = _after_notice()
    before = case.steps_done
    assert apply(case, _problem("blocked")) == [f"{reducer.FOLLOW_UP_LETTER_PROBLEM}0"]
    assert case.formal_notice is not None and case.formal_notice.undelivered is None
    assert case.steps_done == before and case.stage is Stage.formal_notice
    assert case.holds == [], "the letter leaves once the account is funded"
    assert fact(last(case, "RegisteredLetterProblem"))["data"]["final"] is False


def test_a_repeated_report_changes_nothing() -> None:
    case = _after_notice()
    apply(case, _problem())
    snapshot = case.model_copy(deep=True)
    assert apply(case, _problem()) == []
    assert case == snapshot


def test_no_status_of_an_undelivered_letter_can_start_the_deadline() -> None:
    case = _after_notice()
    apply(case, _problem())
    presented = event(
        {"type": "registered_letter_status", "status": "presented", "on": "2026-11-18"}
    )
    with pytest.raises(EventRejected, match="not delivered"):
        reducer.check_event(case, presented)


def test_a_problem_without_any_letter_is_refused() -> None:
    with pytest.raises(EventRejected, match="no registered letter"):
        reducer.check_event(new_case(), event(_problem()))


def _key(case: CaseView, channel: Any) -> str:
    invoice: Any = SimpleNamespace(debtor_id=None)  # only its debtor id is read
    request = channel_request(
        case, invoice, "formal_notice", channel, "formal_notice@1", {}, to=Recipient(name="D")
    )
    return request.idempotency_key


def test_the_letter_after_an_undelivered_one_has_a_new_key_and_other_channels_keep_theirs() -> None:
    case = _after_notice()
    first = _key(case, "registered_letter")
    assert first == f"{case.case_id}/formal_notice/registered_letter", "unchanged before"
    apply(case, _problem())
    assert _key(case, "registered_letter") == f"{first}/2"
    assert _key(case, "letter") == f"{case.case_id}/formal_notice/letter"
    apply(case, _problem("blocked", reference="LRAR-held"))
    assert _key(case, "registered_letter") == f"{first}/2", "a held letter still leaves"
    apply(case, _problem(reference="LRAR-second"))
    assert _key(case, "registered_letter") == f"{first}/3"
