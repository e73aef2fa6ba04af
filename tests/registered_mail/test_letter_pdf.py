"""The formal notice as a PDF: French text intact, any character survives, same bytes twice."""

from __future__ import annotations

import io

from pypdf import PdfReader

from activities.channel_templates import render_channel
from activities.registered_mail.letter_pdf import core_font_text, render_letter_pdf
from tests.registered_mail.conftest import CONTEXT, DEBTOR


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_rendered_formal_notice_keeps_its_french() -> None:
    body = render_channel("formal_notice@1", CONTEXT, DEBTOR)
    pdf = render_letter_pdf(body, title="Mise en demeure F-2026-0001", reference="OUT-1")
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "Créancier Test SAS" in text
    assert "1 252,40 €" in text.replace("\u00a0", " ")
    assert "F-2026-0001" in text and "Durand SARL" in text
    assert "OUT-1 - page 1/" in text
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta is not None and meta.title == "Mise en demeure F-2026-0001"


def test_no_character_can_break_a_letter() -> None:
    nasty = (
        "Łódź 中文 \u0000\u202f€ « œ » \u2014 \u2018\u2019 \u201c\u201d \u2026"
        " ẞtraße 🙂 \u200b\r\nfin"
    )
    pdf = render_letter_pdf(nasty * 40, title="Ŧest ✓", reference="ẞ")
    text = text_of(pdf)
    assert "Lódz" in text and "€ « œ »" in text.replace("\u00a0", " ")
    assert "fin" in text
    assert core_font_text("a\u202fb") == "a\u00a0b"
    assert core_font_text("中") == "?"


def test_the_same_text_gives_the_same_bytes() -> None:
    body = render_channel("formal_notice@1", CONTEXT, DEBTOR)
    first = render_letter_pdf(body, title="t", reference="r")
    assert render_letter_pdf(body, title="t", reference="r") == first
    assert render_letter_pdf(body + "x", title="t", reference="r") != first
