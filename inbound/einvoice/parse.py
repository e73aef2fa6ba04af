"""Read an e-invoice from a request body, chosen by its media type (Content-Type)."""

from __future__ import annotations

from inbound.einvoice.cii import is_cii, read_cii
from inbound.einvoice.document import EInvoice, OriginalFile
from inbound.einvoice.errors import unreadable
from inbound.einvoice.facturx import read_facturx
from inbound.einvoice.ubl import read_ubl, ubl_syntax
from inbound.einvoice.xml import local_name, parse_xml

PDF = "application/pdf"
XML_MEDIA_TYPES = ("application/xml", "text/xml", "application/vnd.oasis.ubl+xml")
MEDIA_TYPES = (*XML_MEDIA_TYPES, PDF)
"""What POST /v1/invoices reads as an e-invoice; anything else goes to the JSON path."""


def einvoice_media_type(content_type: str | None) -> str | None:
    """The e-invoice media type of a Content-Type header (parameters dropped), or None."""
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type if media_type in MEDIA_TYPES else None


def parse_einvoice(content: bytes, media_type: str) -> EInvoice:
    """UBL 2.1 Invoice / CreditNote or CII from XML, Factur-X / ZUGFeRD 2 from a PDF.

    Raises EInvoiceRejected (a 422) when the body cannot be read or fails its XSD."""
    if media_type == PDF:
        return read_facturx(content)
    root = parse_xml(content)
    original = OriginalFile.of(content, media_type)
    syntax = ubl_syntax(root)
    if syntax is not None:
        return read_ubl(root, syntax, original)
    if is_cii(root):
        return read_cii(root, original)
    namespace, name = local_name(root)
    raise unreadable(
        f"is neither a UBL 2.1 Invoice or CreditNote nor a CII CrossIndustryInvoice "
        f"(root element {{{namespace}}}{name})"
    )
