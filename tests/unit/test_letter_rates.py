"""The formal notice states the rate applied for each period, the periods and the date to
which the amounts are computed (french-collection-law.md s.3; C. com. L441-10 II): the
workflow's claim context carries the décompte's periods, and the laid-out letter prints
them."""

from __future__ import annotations

import json
from datetime import date

from activities.channel_requests import Recipient
from activities.letter_layout.builder import build_letter_document
from legal import load_rate_table
from schemas.debtor import CaseInvoice, DebtorRef
from schemas.invoice import InvoiceIn
from tests.support.invoices import invoice_payload
from tests.unit.reducer_cases import new_case
from workflows.step_requests import claim_context


def test_the_notice_states_each_period_and_its_rate_c_com_l441_10() -> None:
    case = new_case(due=date(2025, 11, 15))
    invoice = InvoiceIn.model_validate(
        invoice_payload(issue_date="2025-10-15", due_date="2025-11-15", amount_due="1200.00")
    )
    ref = DebtorRef(debtor_id="dbt-test", kind=invoice.debtor.kind)
    context, statement = claim_context(
        case, CaseInvoice.of(invoice, ref), load_rate_table(), date(2026, 11, 15)
    )
    assert statement is not None and len(statement.rate_periods) >= 2, "2025 H2 and 2026"
    periods = json.loads(context["rate_periods_json"])
    assert [p["start"] for p in periods] == [p.start.isoformat() for p in statement.rate_periods]
    document = build_letter_document(
        "formal_notice@1",
        {
            **context,
            "creditor_name": "Créancier Test SAS",
            "creditor_address": "1 avenue des Tests\n69001 Lyon",
            "payment_instructions": "par virement",
            "deadline_days": "8",
            "debtor_name": "Durand SARL",
            "debtor_address": "12 rue de la Paix\n75002 Paris",
        },
        Recipient(name="Durand SARL", address_lines=["12 rue de la Paix", "75002 Paris"]),
    )
    [computation] = [m for m in document.mentions if m.key == "computation"]
    assert "Montants arrêtés au 15/11/2026" in computation.text
    assert "Taux appliqués" in computation.text
    for period in statement.rate_periods:
        assert period.start.strftime("%d/%m/%Y") in computation.text
        assert f"{period.rate:.2f}".replace(".", ",") in computation.text
