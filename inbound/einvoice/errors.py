"""Why an e-invoice is refused: each problem names the business term (BT) and its XPath."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One refused business term, or the document as a whole (``where`` "body")."""

    where: str
    """``"BT-9 /rsm:CrossIndustryInvoice/..."``, a query parameter, or ``"body"``."""
    message: str


class EInvoiceRejected(ValueError):
    """The document cannot register an invoice or apply a credit note (a 422)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.where}: {p.message}" for p in problems))
        self.problems = problems


def unreadable(message: str) -> EInvoiceRejected:
    """The body is not a document we can read (not XML, no Factur-X XML, fails its XSD)."""
    return EInvoiceRejected([Problem("body", message)])
