"""The page as laid out: the décompte's grid and its total row, page numbers, the recipient
in the envelope's window, and the HTML preview of the same letter."""

from __future__ import annotations

import html
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from activities.channel_requests import Recipient
from activities.channel_templates import render_channel
from activities.letter_layout import (
    DEBTOR_KINDS,
    DebtorKind,
    LetterKind,
    build_letter_document,
    render_letter_html,
    render_letter_pdf,
)
from activities.letter_layout.samples import TEMPLATES, sample_context, sample_recipient
from tests.letter_layout.conftest import ALL, LETTERHEAD, Rendered, flat, pdftotext

Letters = dict[tuple[LetterKind, DebtorKind], Rendered]
AMOUNT = re.compile(r"\d{1,3}(?: \d{3})*,\d{2} €|—")
MM = 72 / 25.4


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(" ", "").replace("€", "").replace(",", ".")) if text else Decimal(0)


def _row(layout: str, first_word: str) -> list[str]:
    """The amounts of the table line that starts with ``first_word``."""
    lines = [flat(line) for line in layout.splitlines()]
    found = [line for line in lines if line.startswith(first_word + " ") and "€" in line]
    assert len(found) == 1, f"{first_word}: {found}"
    return AMOUNT.findall(found[0])


def _expected(rendered: Rendered) -> list[str]:
    """The décompte's figures in the table's column order, by the rules of
    french-collection-law.md s.2 and s.4 (stated here, not read from the code)."""
    c, kind, debtor = rendered.context, rendered.kind, rendered.debtor
    small_claims = kind == "handoff_small_claims"
    figures = [c["principal"]]
    if not (debtor == "consumer" and not c["penalties"]):
        figures.append(c["penalties"] or "—")
    if debtor != "consumer" and not small_claims:
        figures.append(c["indemnity"] or "—")
    figures.append(c["paid"] or "—")
    figures.append(c["claimed"] if small_claims else c["total"])
    return [flat(figure) for figure in figures]


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_the_total_row_states_the_decomptes_figures(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """The grid's total row (and its one invoice row) prints the context's principal,
    penalties or interest, indemnity (never a consumer's), payments and the sum claimed,
    which is principal - paid + penalties + indemnity."""
    rendered = letters[kind, debtor]
    expected = _expected(rendered)
    assert _row(rendered.layout, "Total") == expected
    assert _row(rendered.layout, "F-2026-0042") == expected
    principal, *middle, paid, balance = (_amount(f.replace("—", "")) for f in expected)
    assert principal - paid + sum(middle, Decimal(0)) == balance
    headers = flat(rendered.layout)
    assert "Facture Émise le Échue le" in headers


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_every_page_is_numbered_page_n_of_total(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """CSS @page counters: "page 1 / 2" at the foot of each page."""
    rendered = letters[kind, debtor]
    total = len(PdfReader(io.BytesIO(rendered.pdf)).pages)
    assert len(rendered.pages) == total
    for number, page in enumerate(rendered.pages, start=1):
        assert f"page {number} / {total}" in flat(page)
    if total > 1:  # later pages repeat the reference at the top
        assert "Réf. : OUT-3f2a9c41d0b7" in rendered.pages[1]


@pytest.mark.parametrize("kind", ["reminder_3", "formal_notice", "handoff_agency"])
def test_nf_z_11_001_the_recipient_block_sits_in_a_dl_window(kind: LetterKind) -> None:
    """The address block starts 100 mm from the left edge and 50 mm from the top and stays
    inside the part of a DL envelope's window (45 x 100 mm, 20 mm from the right, 15 mm from
    the bottom) that always shows the folded sheet: 100-190 mm across, 50-84 mm down."""
    recipient = sample_recipient(kind, "business")
    doc = build_letter_document(
        TEMPLATES[kind], sample_context(kind, "business"), recipient, letterhead=LETTERHEAD
    )
    bbox = pdftotext(render_letter_pdf(doc), "-bbox", "-f", "1", "-l", "1")
    words = [
        (float(x0), float(y0), float(x1), float(y1), html.unescape(word))
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            bbox,
        )
    ]
    window = [w for w in words if w[0] > 90 * MM and w[1] < 86 * MM]
    assert " ".join(w[4] for w in window) == " ".join([recipient.name, *recipient.address_lines])
    assert abs(min(w[0] for w in window) - 100 * MM) < 0.5 * MM
    assert 50 * MM <= min(w[1] for w in window) <= 53 * MM
    assert max(w[2] for w in window) <= 190 * MM
    assert max(w[3] for w in window) <= 84 * MM


@pytest.mark.parametrize(
    "kind", ["reminder_3", "formal_notice", "handoff_agency", "injonction_de_payer"]
)
def test_the_laid_out_letter_states_the_same_amounts_as_the_text_letter(
    letters: Letters, kind: LetterKind
) -> None:
    """Both renderings of one context print the same figures (activities/channel_templates)."""
    for debtor in DEBTOR_KINDS:
        rendered = letters[kind, debtor]
        recipient = sample_recipient(kind, debtor)
        text_letter = flat(render_channel(TEMPLATES[kind], rendered.context, recipient))
        for key in ("principal", "paid", "penalties", "indemnity", "total"):
            figure = flat(rendered.context[key])
            if figure:
                assert figure in text_letter and figure in rendered.text, (debtor, key)


def test_the_date_place_reference_and_object_lines() -> None:
    rendered = sample = build_letter_document(
        "reminder_3@1",
        sample_context("reminder_3", "business"),
        sample_recipient("reminder_3", "business"),
        reference="OUT-1",
        letterhead=LETTERHEAD,
    )
    assert rendered.date_line == "Paris, le 2 décembre 2026"
    text = flat(pdftotext(render_letter_pdf(sample), "-layout"))
    assert "Paris, le 2 décembre 2026" in text
    assert "Réf. : OUT-1 — facture n° F-2026-0042" in text
    assert "Objet : Dernière relance avant mise en demeure — facture n° F-2026-0042" in text
    assert "SIREN 732 829 320" in text
    context = sample_context("reminder_3", "business") | {"document_date": "01/03/2027"}
    first = build_letter_document(
        "reminder_3@1", context, sample_recipient("reminder_3", "business")
    )
    assert first.date_line == "Paris, le 1er mars 2027"


def test_the_html_preview_escapes_every_value_and_names_no_server_file() -> None:
    context = sample_context("formal_notice", "business")
    hostile = Recipient(name="<script>alert(1)</script> & Cie", address_lines=["1 rue <b>X</b>"])
    doc = build_letter_document("formal_notice@1", context, hostile, letterhead=LETTERHEAD)
    page = render_letter_html(doc)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie" in page
    assert "1 rue &lt;b&gt;X&lt;/b&gt;" in page
    assert "file:" not in page and "/usr/share" not in page
    text = flat(pdftotext(render_letter_pdf(doc), "-layout"))
    assert "<script>alert(1)</script> & Cie" in text
