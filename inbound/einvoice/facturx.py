"""Factur-X / ZUGFeRD 2 PDFs: the CII XML embedded in the PDF, read as CII.

The factur-x package finds the attachment (``factur-x.xml``, ``zugferd-invoice.xml``); its
own XSD check is off so that a failing document is refused with the reason, not skipped.
"""

from __future__ import annotations

import logging
from typing import Any

import facturx as facturx_lib  # type: ignore[import-untyped]

from inbound.einvoice.cii import is_cii, read_cii
from inbound.einvoice.document import EInvoice, OriginalFile
from inbound.einvoice.errors import unreadable
from inbound.einvoice.xml import local_name, parse_xml

log = logging.getLogger("recouvre.einvoice")


def _embedded_xml(pdf: bytes) -> bytes | None:
    try:
        result: Any = facturx_lib.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    except Exception as err:  # pypdf raises many types for a damaged PDF: all mean "unreadable"
        log.info("PDF refused: %r", err)
        raise unreadable(f"is not a readable PDF ({type(err).__name__})") from None
    _, content = result
    return content if isinstance(content, bytes) and content else None


def read_facturx(pdf: bytes) -> EInvoice:
    """The e-invoice a Factur-X (or ZUGFeRD 2.x) PDF carries; the original is the PDF."""
    if not pdf.startswith(b"%PDF-"):
        raise unreadable("is not a PDF (no %PDF- header)")
    content = _embedded_xml(pdf)
    if content is None:
        raise unreadable("is a PDF without a Factur-X / ZUGFeRD XML attachment (factur-x.xml)")
    root = parse_xml(content)
    if not is_cii(root):
        name = local_name(root)[1]
        if name == "CrossIndustryDocument":
            raise unreadable("carries ZUGFeRD 1.0 XML, which predates EN 16931: not supported")
        raise unreadable(f"carries {name} XML, not a CII CrossIndustryInvoice")
    return read_cii(root, OriginalFile.of(pdf, "application/pdf"))
