"""How letters and requests name the debtor: pure formatting, shared by the workflow
(cases opened before the debtor accounts) and the activities (activities/debtor_resolution.py).
"""

from __future__ import annotations

from activities.channel_requests import Recipient
from schemas.invoice import Debtor

PLACEHOLDER_PREFIX = "debtor:"


def placeholder(debtor_id: str) -> str:
    """How a request, a receipt and the case name the debtor: its id, nothing personal."""
    return PLACEHOLDER_PREFIX + debtor_id


def postal_lines(debtor: Debtor) -> list[str]:
    """The address block's lines below the name (Recipient.address_lines)."""
    address = debtor.address
    lines = [address.line1, *([address.line2] if address.line2 else [])]
    lines.append(f"{address.postal_code} {address.city}")
    return lines


def recipient_of(debtor: Debtor, name: str | None = None) -> Recipient:
    return Recipient(
        name=name or debtor.name, email=str(debtor.email), address_lines=postal_lines(debtor)
    )


def identity_context(debtor: Debtor) -> dict[str, str]:
    """What a letter says of the debtor: its name (with its SIREN) and its address."""
    siren = f" (SIREN {debtor.siren})" if debtor.siren else ""
    return {
        "debtor_name": f"{debtor.name}{siren}",
        "debtor_address": "\n".join(postal_lines(debtor)),
        "debtor_country": debtor.address.country,
    }
