"""The letters as printed (PDF) carry their mandatory mentions, per debtor kind."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from activities.channel_requests import Recipient
from activities.channel_templates import TEMPLATE_KEYS, render_channel
from activities.registered_mail.letter_pdf import render_letter_pdf

DEBTOR = Recipient(name="Durand SARL", address_lines=["12 rue de la Paix", "75002 Paris"])


def _context(template: str, kind: str) -> dict[str, str]:
    values = {
        "creditor_name": "Créancier SAS",
        "creditor_address": "1 place de la Bourse\n75002 Paris",
        "document_date": "15/12/2026",
        "invoice_number": "F-2026-0042",
        "issue_date": "01/10/2026",
        "due_date": "31/10/2026",
        "debtor_kind": kind,
        "debtor_name": "Durand SARL (SIREN 732829320)",
        "debtor_address": "12 rue de la Paix\n75002 Paris",
        "principal": "1 200,00 €",
        "paid": "",
        "balance": "1 200,00 €",
        "penalties": "18,21 €" if kind != "consumer" else "",
        "indemnity": "40,00 €" if kind != "consumer" else "",
        "total": "1 258,21 €" if kind != "consumer" else "1 200,00 €",
        "payment_instructions": "par virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189",
        "deadline_days": "8" if kind != "consumer" else "15",
        "contact_phone": "",
        "claim_basis": "facture n° F-2026-0042 du 01/10/2026",
        "notice_date": "17/12/2026",
        "claimed": "1 218,21 €" if kind != "consumer" else "1 200,00 €",
        "title_description": "ordonnance d'injonction de payer du 12/01/2027",
        "small_claims_issuer": "",
        "proceeding": "redressement judiciaire",
        "publication_date": "02/03/2027",
        "declaration_deadline": "02/05/2027",
    }
    return {key: values[key] for key in TEMPLATE_KEYS[template]}


def _printed(template: str, kind: str) -> str:
    body = render_channel(template, _context(template, kind), DEBTOR)
    pdf = render_letter_pdf(body, title=template, reference="OUT-TEST")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())  # PDF line breaks are not the text's


@pytest.mark.parametrize("kind", ["business", "public"])
def test_a_professional_formal_notice_states_the_whole_claim(kind: str) -> None:
    text = _printed("formal_notice@1", kind)
    for mention in ("mise en demeure", "F-2026-0042", "1344", "1 200,00 €", "18,21 €"):
        assert mention.lower() in text.lower(), mention
    assert "40,00 €" in text, "the fixed recovery indemnity (D441-5 / D2192-35)"
    assert "8 jours" in text


def test_a_consumer_formal_notice_claims_no_indemnity_and_gives_15_days() -> None:
    text = _printed("formal_notice@1", "consumer")
    assert "mise en demeure" in text.lower()
    assert "40,00" not in text and "indemnité forfaitaire" not in text.lower()
    assert "15 jours" in text


def test_the_agency_mandate_reproduces_l111_8_for_the_debtor_letter() -> None:
    text = _printed("handoff_agency@1", "consumer")
    assert "R124" in text and "L111-8" in text


def test_the_injonction_request_lists_its_supporting_documents() -> None:
    text = _printed("injonction_de_payer@1", "business")
    assert "1405" in text
    assert "mise en demeure" in text.lower() and "facture" in text.lower()


def test_the_declaration_of_claim_cites_its_deadline() -> None:
    text = _printed("claim_declaration@1", "business")
    assert "L622-24" in text and "02/05/2027" in text


@pytest.mark.parametrize("kind", ["business", "consumer"])
def test_cpce_l125_1_the_small_claims_request_is_principal_and_interest_only(kind: str) -> None:
    """The simplified procedure's request and its 5,000 EUR ceiling both leave the 40 EUR
    indemnity out (french-collection-law.md s.4), and it is never called judicial."""
    text = _printed("handoff_small_claims@2", kind)
    assert "L125-1" in text
    expected = "1 218,21 €" if kind != "consumer" else "1 200,00 €"
    assert f"Total réclamé, en principal et intérêts : {expected}" in text
    assert "Indemnité forfaitaire pour frais de recouvrement :" not in text
    if kind != "consumer":
        assert "n'est pas comprise dans cette demande" in text
    assert "procédure judiciaire" not in text.lower() and "extrajudiciaire" in text
