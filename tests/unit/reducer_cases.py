"""Builders for the reducer's tests: cases opened the way the workflow opens them.

Events are parsed through ``CaseEventEnvelope`` from plain JSON-like payloads, exactly as
the API and the workflow's update receive them, so a test only ever feeds the reducer an
input the API schema accepts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from policies.catalog import load_catalog
from schemas.bounds import MAX_DATE as MAX_DATE
from schemas.bounds import MIN_DATE as MIN_DATE
from schemas.case import (
    CaseStart,
    CaseView,
    FormalNoticeState,
    HoldKind,
    JournalEntry,
    PaymentIn,
    Stage,
)
from schemas.case_events import CaseEvent, CaseEventEnvelope
from schemas.invoice import InvoiceIn
from schemas.policy import Policy
from tests.support.invoices import invoice_payload
from workflows import case_reducer as reducer
from workflows.claim import prescription_last_day

B2B = "fr-b2b-standard"
B2C = "fr-b2c-standard"
OPENED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
"""When the events of these tests arrive (the workflow's ``workflow.now()``)."""
TODAY = NOW.date()
DUE = date(2026, 10, 31)
LETTER = "LRAR-2026-0001"
"""The reference the registered-mail provider gave the formal notice."""
NOTICE_SENT = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)

MIN_AMOUNT = "0.01"
MAX_AMOUNT = "999999999.99"
"""The API's bounds (schemas/bounds.py): the extremes a caller may send."""


def policy(policy_id: str = B2B) -> Policy:
    """A real policy of the catalog (policies/data)."""
    return load_catalog()[policy_id]


def new_case(
    amount: str = "1200.00",
    *,
    policy_id: str = B2B,
    kind: str = "business",
    due: date = DUE,
    case_id: str = "case-1",
) -> CaseView:
    """A case just opened from an invoice, as the workflow's first run leaves it."""
    debtor = dict(invoice_payload()["debtor"], kind=kind)
    body = invoice_payload(
        invoice_number="F-2026-0001",
        amount_due=amount,
        issue_date=min(due, date(2026, 10, 1)).isoformat(),
        due_date=due.isoformat(),
        debtor=debtor,
    )
    start = CaseStart(
        case_id=case_id,
        tenant="test",
        invoice=InvoiceIn.model_validate(body),
        policy=policy(policy_id),
        opened_at=OPENED,
    )
    case = CaseView.opened(start)
    case.prescription_last_day = prescription_last_day(case)
    return case


def event(payload: dict[str, Any]) -> CaseEvent:
    """An event as the API parses it (strings stripped, bounds checked)."""
    return CaseEventEnvelope.model_validate({"event": payload}).event


def payment(amount: str, paid_on: date = date(2026, 11, 20), reference: str = "VIR-1") -> PaymentIn:
    return PaymentIn.model_validate(
        {"amount": amount, "paid_on": paid_on.isoformat(), "reference": reference}
    )


def apply(
    case: CaseView,
    payload: dict[str, Any] | CaseEvent,
    *,
    policy_id: str | None = None,
    now: datetime = NOW,
) -> list[str]:
    """What the workflow does with an event: the validator's check, then the change."""
    parsed = event(payload) if isinstance(payload, dict) else payload
    reducer.check_event(case, parsed)
    return reducer.apply_event(case, parsed, policy(policy_id or case.policy_id), now)


def with_notice(case: CaseView, reference: str | None = LETTER) -> CaseView:
    """The mise en demeure went out by LRAR (what the workflow's formal-notice step sets)."""
    case.formal_notice = FormalNoticeState(
        sent_at=NOTICE_SENT, sent_on=NOTICE_SENT.date(), letter_reference=reference
    )
    case.stage = Stage.formal_notice
    return case


def escalated(case: CaseView, stage: Stage = Stage.small_claims) -> CaseView:
    """The case was handed to a partner (small claims, injonction, agency, enforcement)."""
    with_notice(case)
    case.stage = stage
    return case


def paused(case: CaseView, by: str = "alice") -> CaseView:
    apply(case, {"type": "pause", "reason": "checking with sales", "by": by})
    return case


def disputed(case: CaseView, reason: str = "goods not delivered") -> CaseView:
    apply(case, {"type": "dispute_opened", "reason": reason, "by": "debtor"})
    return case


def insolvent(case: CaseView) -> CaseView:
    apply(
        case,
        {
            "type": "insolvency",
            "published_on": "2026-11-20",
            "proceeding": "redressement",
            "mandataire": "Me Martin",
        },
    )
    return case


def closed(case: CaseView) -> CaseView:
    apply(case, {"type": "close", "outcome": "written_off", "reason": "too small to chase"})
    return case


def entries(case: CaseView, kind: str) -> list[JournalEntry]:
    """Journal entries of one type, oldest first."""
    return [entry for entry in case.journal if entry.type == kind]


def last(case: CaseView, kind: str) -> JournalEntry:
    """The latest journal entry of ``kind`` (fails the test if there is none)."""
    found = entries(case, kind)
    assert found, f"no {kind} in the journal: {[e.type for e in case.journal]}"
    return found[-1]


def fact(entry: JournalEntry) -> dict[str, Any]:
    """The domain event an entry carries: its type and data, checked to be present."""
    assert entry.fact is not None, f"{entry.type} carries no domain event"
    return entry.fact


def hold(case: CaseView, kind: HoldKind) -> Any:
    found = [h for h in case.holds if h.kind is kind]
    assert len(found) == 1, f"expected one {kind} hold, got {case.holds}"
    return found[0]


def kinds(case: CaseView) -> set[HoldKind]:
    return {h.kind for h in case.holds}
