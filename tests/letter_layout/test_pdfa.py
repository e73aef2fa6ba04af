"""The PDF as archived: PDF/A-3b metadata, every font embedded (DejaVu), fixed dates and the
same bytes for the same letter."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from activities.letter_layout import (
    DebtorKind,
    LetterheadSettings,
    LetterKind,
    build_letter_document,
    render_letter_pdf,
)
from activities.letter_layout.samples import TEMPLATES, sample_context, sample_recipient
from tests.letter_layout.conftest import ALL, LETTERHEAD, Rendered

Letters = dict[tuple[LetterKind, DebtorKind], Rendered]


def _fonts(reader: PdfReader) -> list[DictionaryObject]:
    fonts: list[DictionaryObject] = []
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in resources.get("/Font", {}).values():
            fonts.append(ref.get_object())
    return fonts


def _embedded(font: DictionaryObject) -> bool:
    descendants: Any = font.get("/DescendantFonts")
    target: Any = descendants[0].get_object() if descendants else font
    descriptor: Any = target["/FontDescriptor"].get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_iso_19005_3_the_pdf_declares_pdf_a_3b_with_its_output_intent(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """PDF/A-3 level B (ISO 19005-3): XMP identification, an sRGB output intent, the title
    and dates in both the info dictionary and the XMP metadata."""
    rendered = letters[kind, debtor]
    assert rendered.pdf.startswith(b"%PDF-1.7")
    reader = PdfReader(io.BytesIO(rendered.pdf))
    catalog: Any = reader.trailer["/Root"]
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "<xmp:CreateDate>2026-12-02T00:00:00Z</xmp:CreateDate>" in xmp
    intents: Any = catalog["/OutputIntents"]
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    info = reader.metadata
    assert info is not None and info.title == rendered.doc.title
    assert info.creation_date == datetime(2026, 12, 2, tzinfo=UTC)
    assert info.producer is not None and info.producer.startswith("WeasyPrint")


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_every_font_is_embedded_dejavu(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """PDF/A requires embedded fonts; the letters use Debian's DejaVu Sans (regular, bold)."""
    fonts = _fonts(PdfReader(io.BytesIO(letters[kind, debtor].pdf)))
    assert fonts
    names = {str(font["/BaseFont"]).split("+", 1)[-1] for font in fonts}
    assert names <= {"DejaVu-Sans", "DejaVu-Sans-Bold"}, names
    assert all(_embedded(font) for font in fonts)


def test_the_same_letter_gives_the_same_bytes() -> None:
    """Deterministic: dates from the letter (created_at), identifier from the content."""
    kind: LetterKind = "formal_notice"

    def pdf(created_at: datetime | None = None) -> bytes:
        doc = build_letter_document(
            TEMPLATES[kind],
            sample_context(kind, "business"),
            sample_recipient(kind, "business"),
            reference="OUT-1",
            letterhead=LETTERHEAD,
            created_at=created_at,
        )
        return render_letter_pdf(doc)

    assert pdf() == pdf()
    later = pdf(datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    assert later != pdf()
    info = PdfReader(io.BytesIO(later)).metadata
    assert info is not None and info.creation_date == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def _png(width: int, height: int) -> bytes:
    """A small opaque grey PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_the_logo_from_settings_is_drawn_in_the_letterhead(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(_png(120, 40))
    settings = LetterheadSettings(CREDITOR_SIREN="732829320", CREDITOR_LOGO=str(logo))
    doc = build_letter_document(
        "reminder_3@1",
        sample_context("reminder_3", "business"),
        sample_recipient("reminder_3", "business"),
        letterhead=settings,
    )
    assert doc.creditor.logo is not None
    assert doc.creditor.logo.data_uri.startswith("data:image/png;base64,")
    page: Any = PdfReader(io.BytesIO(render_letter_pdf(doc))).pages[0]
    images = [
        x.get_object()
        for x in page["/Resources"].get("/XObject", {}).values()
        if x.get_object()["/Subtype"] == "/Image"
    ]
    assert [(image["/Width"], image["/Height"]) for image in images] == [(120, 40)]


def test_letterhead_settings_refuse_a_bad_siren_or_logo(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid SIREN"):
        LetterheadSettings(CREDITOR_SIREN="123456789")
    with pytest.raises(ValueError, match="no such file"):
        LetterheadSettings(CREDITOR_LOGO=str(tmp_path / "missing.png"))
    gif = tmp_path / "logo.gif"
    gif.write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="only PNG or JPEG"):
        LetterheadSettings(CREDITOR_LOGO=str(gif))
    assert LetterheadSettings(CREDITOR_SIREN="732 829 320", CREDITOR_LOGO="").logo_path is None


def test_a_document_kept_as_json_or_html_renders_the_same_pdf() -> None:
    """What an outbox row can keep (the document's JSON or its HTML) prints the same bytes
    later: the dossier and the provider re-render the letter that was recorded."""
    from activities.letter_layout import (
        document_from_json,
        document_to_json,
        render_html_pdf,
        render_letter_html,
    )

    kind: LetterKind = "handoff_agency"
    doc = build_letter_document(
        TEMPLATES[kind],
        sample_context(kind, "public"),
        sample_recipient(kind, "public"),
        reference="OUT-1",
        letterhead=LETTERHEAD,
    )
    again = document_from_json(document_to_json(doc))
    assert again == doc
    assert render_letter_pdf(again) == render_letter_pdf(doc)
    assert render_html_pdf(render_letter_html(doc)) == render_letter_pdf(doc)
