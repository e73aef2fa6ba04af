"""The seller must be the tenant: its legal registration id (BT-30) against the tenant's SIREN."""

from __future__ import annotations

import re

from inbound.einvoice.document import EInvoice
from inbound.einvoice.errors import EInvoiceRejected, Problem

_SIREN_SCHEMES = {None, "0002", "0009"}  # 0009 is a SIRET: the SIREN is its first 9 digits


def check_seller_siren(document: EInvoice, expected_siren: str | None) -> None:
    """Refuse a document another company issued. No expected SIREN: nothing to check."""
    if expected_siren is None:
        return
    expected = re.sub(r"[ .]", "", expected_siren)
    found = document.get("BT-30")
    if found is None:
        message = f"missing: the seller must be identified by its SIREN ({expected})"
        raise EInvoiceRejected([Problem(document.where("BT-30"), message)])
    compact = re.sub(r"[ .]", "", found.value)
    if found.scheme not in _SIREN_SCHEMES or compact[:9] != expected:
        message = f"the seller {found.value!r} is not this creditor (SIREN {expected})"
        raise EInvoiceRejected([Problem(document.where("BT-30"), message)])
