"""Kinds of debtor: they select the interest regime and the prescription period."""

from enum import StrEnum

from legal.errors import LegalError


class DebtorKind(StrEnum):
    """Who owes the money.

    - ``business``: a professional (C. com. L441-10 II penalties, 40 EUR indemnity);
    - ``consumer``: a private person (C. civ. 1231-6 legal interest after notice);
    - ``public``: a public buyer (C. commande publique L2192-13, R2192-31).
    """

    BUSINESS = "business"
    CONSUMER = "consumer"
    PUBLIC = "public"


def parse_debtor_kind(value: str) -> DebtorKind:
    """``DebtorKind`` from its text value; unknown text raises ``LegalError``."""
    try:
        return DebtorKind(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in DebtorKind)
        raise LegalError(f"unknown debtor kind {value!r} (expected {choices})") from None
