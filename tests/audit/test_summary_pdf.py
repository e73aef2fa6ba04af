"""The summary renders any case text with core fonts: French kept, the rest replaced."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from schemas.case import CaseView, Stage
from services.audit.case_records import CaseRecord
from services.audit.models import ChainVerification
from services.audit.summary_pdf import ENCODING, SummaryInput, pdf_text, render_summary

FRENCH = "Créance échue à régler : 1\u202f200,00\u00a0€ \u2014 « cœur » l\u2019été, ça"


def test_pdf_text_keeps_french_and_replaces_what_core_fonts_cannot_draw() -> None:
    assert pdf_text("Créance échue à régler, cœur, l\u2019été, « ça » \u2013 5 €") == (
        "Créance échue à régler, cœur, l\u2019été, « ça » \u2013 5 €"
    )
    assert pdf_text("1\u202f200,00\u00a0€") == "1\u00a0200,00\u00a0€"
    assert pdf_text("Łódź Dvořák 漢字 🙂\x00\u200b") == "Lódz Dvorák ?? ? "
    for sample in (FRENCH, "Łódź 漢字 🙂 \x07 \u2028 \ufffd"):
        pdf_text(sample).encode(ENCODING)  # never raises


def test_a_case_with_any_characters_renders_and_reads_back() -> None:
    opened = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    view = CaseView(
        case_id="c-1",
        tenant="acme",
        invoice_number="F-2026/ÉTÉ-1",
        currency="EUR",
        amount_due=Decimal("1200.00"),
        balance=Decimal("1200.00"),
        due_date=date(2026, 10, 31),
        debtor_name="Łódź Café 漢字 🙂",
        policy_id="fr-b2b-standard",
        policy_version=3,
        stage=Stage.amicable,
        opened_at=opened,
        rates_version="2026-S2",
    )
    record = CaseRecord(
        case_id="c-1",
        tenant="acme",
        invoice_number=view.invoice_number,
        workflow_id="invoice:acme:F-2026/ÉTÉ-1",
        policy_id=view.policy_id,
        policy_version=3,
        invoice={
            "issue_date": "2026-10-01",
            "debtor": {"kind": "business", "name": view.debtor_name, "email": "a@b.example"},
        },
        created_at=opened,
    )
    content = render_summary(
        SummaryInput(
            case=record,
            view=view,
            chain=ChainVerification(ok=True, count=0, head_hash="0" * 64),
            emails=[],
            documents=[],
            history_events=12,
            generated_at=opened,
            generated_by="auditor@acme",
        )
    )

    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "F-2026/ÉTÉ-1" in text and "Lódz Café ?? ?" in text
    assert "Barème des taux : 2026-S2" in text or "2026-S2" in text
    assert "Mise en demeure : non envoyée" in text
    assert (
        render_summary(  # the same records give the same bytes
            SummaryInput(
                case=record,
                view=view,
                chain=ChainVerification(ok=True, count=0, head_hash="0" * 64),
                emails=[],
                documents=[],
                history_events=12,
                generated_at=opened,
                generated_by="auditor@acme",
            )
        )
        == content
    )
