"""UBL 2.1 ``Invoice`` and ``CreditNote``: validated against the OASIS UBL 2.1 XSD."""

from __future__ import annotations

from inbound.einvoice.document import EInvoice, OriginalFile
from inbound.einvoice.terms import NAMESPACES, Syntax
from inbound.einvoice.xml import XmlElement, check_xsd, local_name, read_terms

_ROOTS = {
    (NAMESPACES["ubl"], "Invoice"): Syntax.ubl_invoice,
    (NAMESPACES["cn"], "CreditNote"): Syntax.ubl_credit_note,
}
_XSD = {
    Syntax.ubl_invoice: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    Syntax.ubl_credit_note: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}


def ubl_syntax(root: XmlElement) -> Syntax | None:
    """Which UBL document the root element is, if it is one."""
    return _ROOTS.get(local_name(root))


def read_ubl(root: XmlElement, syntax: Syntax, original: OriginalFile) -> EInvoice:
    """The business terms of a UBL document that passes the UBL 2.1 XSD."""
    check_xsd(root, _XSD[syntax], f"UBL 2.1 {local_name(root)[1]}")
    return EInvoice(syntax, "ubl", read_terms(root, syntax), original)
