"""Every letter kind rendered once for every debtor kind, read back as a person would.

The text is poppler's ``pdftotext -layout`` (Debian's poppler-utils, installed by
deploy/bootstrap.sh): what the printed page shows, in reading order, columns kept.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.letter_layout import (
    DEBTOR_KINDS,
    LETTER_KINDS,
    DebtorKind,
    LetterDocument,
    LetterheadSettings,
    LetterKind,
    build_letter_document,
    render_letter_pdf,
)
from activities.letter_layout.samples import TEMPLATES, sample_context, sample_recipient

REFERENCE = "OUT-3f2a9c41d0b7"
LETTERHEAD = LetterheadSettings(CREDITOR_SIREN="732829320")
_SPACES = re.compile(r"[ \t\u00a0\u202f\u2009\u2007]+")


def flat(text: str) -> str:
    """One line, single spaces (PDF line breaks and no-break spaces are not the text's)."""
    return " ".join(_SPACES.sub(" ", text).split())


def pdftotext(pdf: bytes, *options: str) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext is missing: install poppler-utils (deploy/bootstrap.sh does)")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "letter.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            [tool, *options, str(path), "-"], check=True, capture_output=True, text=True
        )
    return done.stdout


@dataclass(frozen=True)
class Rendered:
    kind: LetterKind
    debtor: DebtorKind
    context: dict[str, str]
    doc: LetterDocument
    pdf: bytes
    layout: str
    """``pdftotext -layout``; pages separated by form feeds."""

    @property
    def text(self) -> str:
        return flat(self.layout)

    @property
    def pages(self) -> list[str]:
        return [page for page in self.layout.split("\f") if page.strip()]


def render(
    kind: LetterKind, debtor: DebtorKind, letterhead: LetterheadSettings = LETTERHEAD
) -> Rendered:
    context = sample_context(kind, debtor)
    doc = build_letter_document(
        TEMPLATES[kind],
        context,
        sample_recipient(kind, debtor),
        reference=REFERENCE,
        letterhead=letterhead,
    )
    pdf = render_letter_pdf(doc)
    return Rendered(kind, debtor, context, doc, pdf, pdftotext(pdf, "-layout"))


@pytest.fixture(scope="session")
def letters() -> dict[tuple[LetterKind, DebtorKind], Rendered]:
    """All 8 letter kinds x 3 debtor kinds, rendered once (about 3 s)."""
    return {
        (kind, debtor): render(kind, debtor) for kind in LETTER_KINDS for debtor in DEBTOR_KINDS
    }


ALL = [(kind, debtor) for kind in LETTER_KINDS for debtor in DEBTOR_KINDS]
