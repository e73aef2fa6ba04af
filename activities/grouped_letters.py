"""One letter for several invoices of one debtor: the statement of account of reminder 3,
or one formal notice by registered post with a décompte per invoice and the total
(issue 12). Pure: what the letter says, from each invoice's own letter request."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from activities.channel_requests import ChannelRequest
from schemas.french_format import french_amount

GROUPED_TEMPLATES = {
    "letter": "grouped_statement@1",
    "registered_letter": "grouped_formal_notice@1",
}
"""The grouped letter's template per channel (versioned like every template)."""


def invoice_line(context: dict[str, str]) -> str:
    """One invoice of the letter, as its own letter would state it."""
    parts = [f"principal {context.get('principal', '')}"]
    if context.get("paid"):
        parts.append(f"déjà réglé {context['paid']}")
    parts.append(f"solde {context.get('balance', '')}")
    if context.get("penalties"):
        parts.append(f"pénalités {context['penalties']}")
    if context.get("indemnity"):
        parts.append(f"indemnité forfaitaire {context['indemnity']}")
    return (
        f"- Facture n° {context.get('invoice_number', '')} du {context.get('issue_date', '')}, "
        f"échue le {context.get('due_date', '')} : {', '.join(parts)} ; "
        f"total {context.get('total', '')}"
    )


def grouped_context(
    items: Sequence[ChannelRequest], line_totals: Sequence[Decimal], currency: str = "EUR"
) -> dict[str, str]:
    """The grouped letter's context: the first item's (creditor, dates, debtor) with the
    list of invoices and the total of their lines."""
    first = dict(items[0].context)
    return {
        **first,
        "invoice_count": str(len(items)),
        "invoice_lines": "\n".join(invoice_line(item.context) for item in items),
        "grand_total": french_amount(sum(line_totals, Decimal("0.00")), currency),
    }
