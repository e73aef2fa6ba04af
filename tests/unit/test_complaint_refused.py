"""A consumer whose complaint was refused is told of the consumer mediator (C. consom.
L616-1, L616-2): the case remembers the refusal and every later letter's context says so;
an upheld dispute does not."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.debtor import CaseInvoice, DebtorRef
from schemas.invoice import InvoiceIn
from tests.support.invoices import invoice_payload
from tests.unit.reducer_cases import B2C, apply, disputed, new_case
from workflows.step_requests import claim_context


@pytest.mark.parametrize(("outcome", "told"), [("rejected", "yes"), ("upheld", "no")])
def test_a_refused_complaint_puts_the_mediator_in_later_letters_l616_1(
    outcome: str, told: str
) -> None:
    case = disputed(new_case(policy_id=B2C, kind="consumer"))
    assert claim_context(case, _invoice(), None, date(2026, 12, 1))[0]["complaint_refused"] == "no"
    apply(case, {"type": "dispute_resolved", "outcome": outcome, "by": "alice"})
    context, _ = claim_context(case, _invoice(), None, date(2026, 12, 1))
    assert context["complaint_refused"] == told
    assert case.complaint_refused is (told == "yes")


def _invoice() -> CaseInvoice:
    payload = invoice_payload()
    payload["debtor"] = {**payload["debtor"], "kind": "consumer"}
    payload["debtor"].pop("siren", None)
    invoice = InvoiceIn.model_validate(payload)
    return CaseInvoice.of(invoice, DebtorRef(debtor_id="dbt-test", kind=invoice.debtor.kind))
