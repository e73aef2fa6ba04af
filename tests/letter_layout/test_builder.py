"""The builder reads the text templates' context, refuses what does not add up, and takes
the workflow's own context (workflows/step_requests.py claim_context) as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from activities.channel_requests import Recipient
from activities.channel_templates import InvalidContextValue, MissingContextKeys
from activities.letter_layout import (
    LETTER_KEYS,
    LetterContextError,
    build_letter_document,
    letter_kind,
    render_letter_pdf,
)
from activities.letter_layout.samples import sample_context, sample_recipient
from legal import load_rate_table
from schemas.case import CaseView, FormalNoticeState, Stage
from schemas.french_format import french_amount
from schemas.invoice import InvoiceIn
from tests.letter_layout.conftest import LETTERHEAD, flat, pdftotext
from workflows.step_requests import claim_context

DEBTOR = Recipient(name="Durand SARL", address_lines=["12 rue de la Paix", "75002 Paris"])
OPENED = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_every_letter_template_has_a_layout_and_others_do_not() -> None:
    assert letter_kind("handoff_small_claims@1") == "handoff_small_claims"
    assert set(LETTER_KEYS) >= {"formal_notice@1", "reminder_3@1", "payment_receipt@1"}
    for template in ("phone_call@1", "step_failed@1", "formal_notice@9"):
        with pytest.raises(LetterContextError, match="no letter layout"):
            letter_kind(template)


def test_a_missing_key_is_named_and_an_unknown_debtor_kind_refused() -> None:
    context = sample_context("formal_notice", "business")
    del context["deadline_days"]
    with pytest.raises(MissingContextKeys, match="deadline_days"):
        build_letter_document("formal_notice@1", context, DEBTOR)
    context = sample_context("formal_notice", "business") | {"debtor_kind": "martian"}
    with pytest.raises(InvalidContextValue, match="debtor_kind"):
        build_letter_document("formal_notice@1", context, DEBTOR)


def test_a_decompte_that_does_not_add_up_is_refused() -> None:
    context = sample_context("formal_notice", "business") | {"total": "1 058,20\u00a0€"}
    with pytest.raises(LetterContextError, match="does not add up"):
        build_letter_document("formal_notice@1", context, DEBTOR)
    context = sample_context("formal_notice", "business") | {"balance": "900,00\u00a0€"}
    with pytest.raises(LetterContextError, match="is not the balance"):
        build_letter_document("formal_notice@1", context, DEBTOR)
    context = sample_context("formal_notice", "business") | {"principal": "douze euros"}
    with pytest.raises(LetterContextError, match="not an amount"):
        build_letter_document("formal_notice@1", context, DEBTOR)


def test_d441_5_a_consumer_context_with_an_indemnity_is_refused() -> None:
    """The builder never prints a 40 EUR indemnity for a consumer, even if asked to."""
    context = sample_context("formal_notice", "consumer")
    context |= {"indemnity": "40,00\u00a0€", "total": "1 040,00\u00a0€"}
    with pytest.raises(LetterContextError, match="consumer owes no fixed recovery indemnity"):
        build_letter_document("formal_notice@1", context, DEBTOR)


def _case(kind: str, **update: object) -> CaseView:
    case = CaseView(
        case_id="c1",
        tenant="t",
        invoice_number="F-1",
        currency="EUR",
        amount_due=Decimal("12000.00"),
        balance=Decimal("12000.00"),
        due_date=date(2025, 3, 31),
        debtor_name="Durand SARL",
        policy_id="fr-b2b-standard",
        policy_version=1,
        stage=Stage.amicable,
        opened_at=OPENED,
        debtor_kind=kind,
    )
    return case.model_copy(update=update)


def _workflow_context(case: CaseView, as_of: date) -> tuple[dict[str, str], object]:
    invoice = InvoiceIn.model_validate(
        {
            "invoice_number": "F-1",
            "issue_date": "2025-03-01",
            "due_date": "2025-03-31",
            "currency": "EUR",
            "amount_due": "12000.00",
            "debtor": {
                "kind": "business",
                "name": "Durand SARL",
                "siren": "732829320",
                "email": "compta@durand.example",
                "address": {
                    "line1": "12 rue de la Paix",
                    "postal_code": "75002",
                    "city": "Paris",
                    "country": "FR",
                },
            },
        }
    )
    context, statement = claim_context(case, invoice, load_rate_table(), as_of)  # type: ignore[arg-type]
    context |= {
        "creditor_name": "Démo Créancier SAS",
        "creditor_address": "1 place de la Bourse\n75002 Paris",
        "payment_instructions": "par virement",
        "deadline_days": "8",
    }
    return context, statement


def test_c_com_l441_10_ii_the_worked_example_with_its_periods_and_rates() -> None:
    """default-policies.md example 1: 12,000.00 EUR due 2025-03-31, as of 2025-09-15: 701.00
    of penalties at 13.15 % then 12.15 % (L441-10 II), 40.00 indemnity, 12,741.00 claimed;
    the formal notice states each period with its rate (C. civ. 1344 as practised)."""
    context, statement = _workflow_context(_case("business"), date(2025, 9, 15))
    assert statement is not None
    doc = build_letter_document(
        "formal_notice@1",
        context,
        DEBTOR,
        letterhead=LETTERHEAD,
        rate_periods=statement.rate_periods,  # type: ignore[attr-defined]
    )
    assert doc.table.totals.balance == french_amount(Decimal("12741.00"))
    assert doc.table.totals.penalties == french_amount(Decimal("701.00"))
    text = flat(pdftotext(render_letter_pdf(doc), "-layout"))
    total_row = "Total 12 000,00 € 701,00 € 40,00 € — 12 741,00 €"
    assert total_row in text
    assert "du 01/04/2025 au 30/06/2025 (91 jours) : 13,15 % l'an" in text
    assert "du 01/07/2025 au 15/09/2025 (77 jours) : 12,15 % l'an" in text
    assert "taux BCE de 3,15 % au 01/01/2025 majoré de 10 points" in text
    assert "Montants arrêtés au 15/09/2025" in text


def test_c_civ_1231_6_a_consumer_after_the_notice_is_claimed_interest_and_no_indemnity() -> None:
    """The workflow's consumer context: interest from the notice's first presentation, no
    indemnity (C. civ. 1231-6, 1344-1; CPCE L111-8); the builder accepts it as it is."""
    notice = FormalNoticeState(
        sent_at=datetime(2025, 5, 2, tzinfo=UTC),
        sent_on=date(2025, 5, 2),
        first_presented_on=date(2025, 5, 5),
    )
    case = _case("consumer", formal_notice=notice, policy_id="fr-b2c-standard")
    context, _ = _workflow_context(case, date(2025, 9, 15))
    assert context["indemnity"] == "" and context["penalties"]
    context |= {"claimed": context["total"]}
    doc = build_letter_document(
        "handoff_small_claims@2",
        context,
        sample_recipient("handoff_small_claims", "consumer"),
        letterhead=LETTERHEAD,
    )
    assert not doc.table.show_indemnity and doc.table.penalties_label == "Intérêts au taux légal"
    text = flat(pdftotext(render_letter_pdf(doc), "-layout"))
    assert f"Total 12 000,00 € {flat(context['penalties'])} — {flat(context['total'])}" in text
    assert "depuis la première présentation de la mise en demeure, le 05/05/2025" in text
    assert "40,00" not in text


def test_the_rate_periods_may_come_with_the_context_as_json() -> None:
    """The activity only has the request's context: ``rate_periods_json`` carries the
    statement's periods there (C. civ. 1344 as practised: each period and its rate)."""
    import json

    context, statement = _workflow_context(_case("business"), date(2025, 9, 15))
    periods = statement.rate_periods  # type: ignore[attr-defined]
    context["rate_periods_json"] = json.dumps([p.model_dump(mode="json") for p in periods])
    doc = build_letter_document("formal_notice@1", context, DEBTOR)
    computation = next(m for m in doc.mentions if m.key == "computation")
    assert "du 01/04/2025 au 30/06/2025 (91 jours) : 13,15 % l'an" in computation.text
    with pytest.raises(LetterContextError, match="rate_periods_json"):
        build_letter_document("formal_notice@1", context | {"rate_periods_json": "[{}]"}, DEBTOR)
