"""Letters laid out like real ones: HTML + CSS templates rendered to PDF/A by WeasyPrint.

    doc = build_letter_document(template, context, recipient, reference=..., letterhead=...)
    doc = build_grouped_letter_document(template, items, recipient, reference=...)  # grouped.py
    html = render_letter_html(doc)   # the console's preview
    pdf = render_letter_pdf(doc)     # PDF/A-3b, DejaVu embedded, deterministic

``context`` and ``recipient`` are what ``activities.channel_templates.render_channel`` gets,
so the laid-out letter and the plain-text one state the same amounts.
"""

from activities.letter_layout.amounts import LetterContextError
from activities.letter_layout.builder import LETTER_KEYS, build_letter_document, letter_kind
from activities.letter_layout.document import (
    DEBTOR_KINDS,
    LETTER_KINDS,
    ClaimRow,
    ClaimTable,
    ClaimTotals,
    DebtorKind,
    LetterDocument,
    LetterKind,
    Logo,
    Mention,
    Party,
    Section,
    document_from_json,
    document_to_json,
)
from activities.letter_layout.grouped import GROUPED_LAYOUTS, build_grouped_letter_document
from activities.letter_layout.render import (
    PDF_VARIANT,
    LetterRenderError,
    render_html_pdf,
    render_letter_html,
    render_letter_pdf,
)
from activities.letter_layout.settings import LetterheadSettings

__all__ = [
    "DEBTOR_KINDS",
    "GROUPED_LAYOUTS",
    "LETTER_KEYS",
    "LETTER_KINDS",
    "PDF_VARIANT",
    "ClaimRow",
    "ClaimTable",
    "ClaimTotals",
    "DebtorKind",
    "LetterContextError",
    "LetterDocument",
    "LetterKind",
    "LetterRenderError",
    "LetterheadSettings",
    "Logo",
    "Mention",
    "Party",
    "Section",
    "build_grouped_letter_document",
    "build_letter_document",
    "document_from_json",
    "document_to_json",
    "letter_kind",
    "render_html_pdf",
    "render_letter_html",
    "render_letter_pdf",
]
