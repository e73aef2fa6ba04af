"""What a parser returns: the business terms it read, and the original file, kept as sent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from inbound.einvoice.terms import CREDIT_NOTE_TYPE_CODES, TERMS, Syntax


@dataclass(frozen=True)
class OriginalFile:
    """The bytes as received (the PDF for Factur-X), to keep as a document of the case."""

    content: bytes
    sha256: str
    media_type: str

    @classmethod
    def of(cls, content: bytes, media_type: str) -> OriginalFile:
        return cls(content, hashlib.sha256(content).hexdigest(), media_type)


@dataclass(frozen=True)
class Found:
    """A business term's text (stripped) and its ``schemeID`` attribute, if any."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True)
class EInvoice:
    """An e-invoice or credit note read and validated, not yet mapped to recouvre's models."""

    syntax: Syntax
    profile: str
    """``ubl`` for UBL 2.1; the Factur-X level for CII (``minimum`` ... ``extended``)."""
    values: Mapping[str, Found]
    """The business terms present in the document, by BT id."""
    original: OriginalFile

    def get(self, bt: str) -> Found | None:
        return self.values.get(bt)

    def where(self, bt: str) -> str:
        """``"BT-9 /rsm:CrossIndustryInvoice/..."``, as an error names the term."""
        return TERMS[bt].where(self.syntax)

    @property
    def is_credit_note(self) -> bool:
        """A UBL CreditNote, or a document whose type code (BT-3) is a credit note's."""
        if self.syntax is Syntax.ubl_credit_note:
            return True
        code = self.get("BT-3")
        return code is not None and code.value in CREDIT_NOTE_TYPE_CODES
