"""The debtor portal's block on a letter to the debtor: the personal link, and its QR code
(a link of some 130 characters is not typed from paper; a phone reads the code).

Only the letters a debtor reads and acts on carry it (``PORTAL_KINDS``): not the court
request, the hand-offs to partners nor the declaration of claim to the mandataire.
"""

from __future__ import annotations

import dataclasses

import segno

from activities.letter_layout.document import LetterDocument, LetterKind

PORTAL_KINDS: frozenset[LetterKind] = frozenset({"reminder_3", "formal_notice"})
PORTAL_TEXT = (
    "Votre dossier en ligne : consultez vos factures et les documents envoyés, payez, "
    "contestez une facture ou proposez un échéancier à l'adresse ci-dessous, ou en "
    "photographiant ce code."
)


def with_portal(doc: LetterDocument, url: str) -> LetterDocument:
    """``doc`` with the debtor's portal link, if its kind carries one and a link is given."""
    if not url or doc.kind not in PORTAL_KINDS:
        return doc
    return dataclasses.replace(doc, portal_url=url)


def qr_data_uri(url: str) -> str:
    """The link as a QR code, an SVG data: URI (error correction M: a fold or a stain on
    the page does not stop a phone reading it)."""
    code = segno.make(url, error="m", micro=False)
    uri: str = code.svg_data_uri(scale=3, border=2)
    return uri
