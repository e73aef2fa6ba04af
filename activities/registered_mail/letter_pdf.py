"""The formal notice as a PDF the provider prints: A4, the rendered text, page numbers.

fpdf2's core fonts (Helvetica) draw WinAnsi (cp1252), which covers French: é è à ç ô œ « » €
and curly quotes. Anything else is replaced by a close form (narrow no-break space -> no-break
space, accents stripped) or "?", so no debtor name can make a letter fail. Nothing is embedded
and the creation date is the letter's own: the same text always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

WIN_ANSI = "cp1252"
FONT = "Helvetica"
_REPLACEMENTS = {
    "\u202f": "\u00a0",  # narrow no-break space, French thousands separator
    "\u2007": "\u00a0",
    "\u2009": " ",
    "\u200a": " ",
    "\u2010": "-",
    "\u2011": "-",
    "\u2212": "-",
    "\u2043": "-",
    "\u2032": "'",
    "\u2033": '"',
    "\u2192": "->",
    "\t": "    ",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u00df": "ss",
}


def _drawable(text: str) -> bool:
    try:
        text.encode(WIN_ANSI)
    except UnicodeEncodeError:
        return False
    return True


def core_font_text(text: str) -> str:
    """``text`` reduced to what a core font draws; never raises."""
    kept: list[str] = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n"):
        char = _REPLACEMENTS.get(char, char)
        if len(char) == 1 and char != "\n" and unicodedata.category(char).startswith("C"):
            kept.append(" " if unicodedata.category(char) == "Cc" else "")
        elif _drawable(char):
            kept.append(char)
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            kept.append(base if base and _drawable(base) else "?")
    return "".join(kept)


class _LetterPdf(FPDF):
    def __init__(self, reference: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.core_fonts_encoding = WIN_ANSI  # fpdf2 declares WinAnsiEncoding for core fonts
        self._reference = reference

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, size=8)
        label = f"{self._reference} - page {self.page_no()}/{{nb}}"
        self.cell(0, 8, core_font_text(label), align="C")


def render_letter_pdf(
    body: str, *, title: str, reference: str, created_at: datetime | None = None
) -> bytes:
    """A PDF of ``body`` (plain text, one paragraph per line) with ``title`` as metadata."""
    pdf = _LetterPdf(reference)
    pdf.set_title(core_font_text(title))
    pdf.set_author("recouvre")
    pdf.set_creator("recouvre")
    moment = created_at or datetime(2000, 1, 1, tzinfo=UTC)
    pdf.set_creation_date(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    pdf.set_margins(left=25, top=25, right=20)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FONT, size=11)
    for line in core_font_text(body).split("\n"):
        if not line.strip():
            pdf.ln(4)
            continue
        pdf.multi_cell(0, 5.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
