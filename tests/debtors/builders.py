"""A debtor's cases for the debtor tests, built the way the workflow builds them.

Each case opens from a real invoice and policy (``CaseView.opened``); events go through the
API's envelope and the reducer (``check_event`` then ``apply_event``); the facts the
timeline journals itself (a broken promise, a missed instalment, a refused email) are
journaled with the workflow's own fact builders (workflows/facts.py), as
workflows/case_steps.py does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from policies.catalog import load_catalog
from schemas.case import (
    ActionRecord,
    CaseStart,
    CaseView,
    FormalNoticeState,
    HoldKind,
    PaymentIn,
    Stage,
)
from schemas.case_events import CaseEventEnvelope
from schemas.invoice import InvoiceIn
from schemas.policy import Channel
from tests.support.invoices import invoice_payload
from workflows import case_reducer as reducer
from workflows import facts

POLICY = {
    "business": "fr-b2b-standard",
    "consumer": "fr-b2c-standard",
    "public": "fr-public-standard",
}
OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def open_case(
    case_id: str,
    *,
    amount: str = "1000.00",
    due: date = date(2026, 1, 31),
    kind: str = "business",
    issued: date | None = None,
) -> CaseView:
    """A case just opened from its invoice (one debtor: the same SIREN for every case)."""
    body = invoice_payload(
        invoice_number=f"F-{case_id}",
        amount_due=amount,
        issue_date=(issued or min(due, date(2026, 1, 1))).isoformat(),
        due_date=due.isoformat(),
    )
    body["debtor"].update(kind=kind, siren="732829320" if kind != "consumer" else None)
    start = CaseStart(
        case_id=case_id,
        tenant="test",
        invoice=InvoiceIn.model_validate(body),
        policy=load_catalog()[POLICY[kind]],
        opened_at=OPENED,
    )
    return CaseView.opened(start)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def apply(case: CaseView, payload: dict[str, Any], on: date) -> CaseView:
    """An event as the API receives it, checked then applied by the reducer."""
    event = CaseEventEnvelope.model_validate({"event": payload}).event
    reducer.check_event(case, event)
    reducer.apply_event(case, event, load_catalog()[case.policy_id], at(on))
    return case


def pay(case: CaseView, amount: str, paid_on: date) -> CaseView:
    payment = PaymentIn.model_validate(
        {"amount": amount, "paid_on": paid_on.isoformat(), "reference": f"VIR-{paid_on}-{amount}"}
    )
    reducer.apply_payment(case, payment, at(paid_on))
    return case


def broken_promise(case: CaseView, promised_on: date) -> CaseView:
    """A promise to pay by ``promised_on``, then its expiry unpaid (the workflow's wake)."""
    apply(case, {"type": "promise_to_pay", "promised_on": promised_on.isoformat()}, promised_on)
    policy = load_catalog()[case.policy_id]
    promise = next(h for h in case.holds if h.kind is HoldKind.promise)
    reducer.lift_hold(case, HoldKind.promise)
    fact = facts.promise_broken(case, promise, policy.promise_grace)
    expiry = promised_on + policy.promise_grace
    reducer.journal(
        case, at(expiry), "PromiseBroken", "unpaid after the promised date + grace", fact=fact
    )
    return case


def missed_instalment(case: CaseView, agreed_on: date) -> CaseView:
    """A two-instalment plan for the balance, whose first instalment is not paid."""
    half = (case.balance / 2).quantize(Decimal("0.01"))
    first, second = agreed_on + timedelta(days=10), agreed_on + timedelta(days=40)
    plan = {
        "type": "payment_plan",
        "agreed_on": agreed_on.isoformat(),
        "instalments": [
            {"due_on": first.isoformat(), "amount": str(half)},
            {"due_on": second.isoformat(), "amount": str(case.balance - half)},
        ],
    }
    apply(case, plan, agreed_on)
    assert case.plan is not None
    missed = facts.instalment_missed(case.plan.plan_id, 1, first, half)
    reducer.lift_hold(case, HoldKind.payment_plan)
    case.plan = None
    reducer.journal(
        case, at(first), "InstalmentMissed", "the case resumes for the whole balance", fact=missed
    )
    return case


def bounced_email(case: CaseView, recipient: str, on: date) -> CaseView:
    """The relay refused the debtor's address for good (workflows/case_steps.py)."""
    action = ActionRecord(
        step="reminder_1",
        label="Relance 1",
        channel=Channel.email,
        done_at=at(on),
        status="failed",
        recipient=recipient,
        idempotency_key=f"{case.case_id}/reminder_1",
        detail="InvalidRecipient: 550 no such user",
    )
    case.actions.append(action)
    reducer.journal(
        case, action.done_at, "EmailBounced", f"{recipient}: {action.detail}",
        fact=facts.email_bounced(action),
    )  # fmt: skip
    return case


def formal_notice(case: CaseView, sent_on: date, status: str, status_on: date) -> CaseView:
    """The mise en demeure went out by LRAR and the provider reported ``status``."""
    case.formal_notice = FormalNoticeState(
        sent_at=at(sent_on), sent_on=sent_on, letter_reference=f"LRAR-{case.case_id}"
    )
    case.stage = Stage.formal_notice
    return apply(
        case,
        {"type": "registered_letter_status", "status": status, "on": status_on.isoformat()},
        status_on,
    )
