"""E-invoicing lifecycle statuses and what each does to a case (law page, section 8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.case import HoldKind

Action = Literal["note", "close_cancelled", "hold", "lift", "payment"]


@dataclass(frozen=True)
class EInvoicingEffect:
    meaning: str
    action: Action
    hold: HoldKind | None = None


_EFFECTS: dict[int, EInvoicingEffect] = {
    200: EInvoicingEffect("deposited", "note"),
    206: EInvoicingEffect("partly approved: dispute on the rest", "hold", HoldKind.dispute),
    207: EInvoicingEffect("disputed", "hold", HoldKind.dispute),
    208: EInvoicingEffect("suspended", "hold", HoldKind.dispute),
    209: EInvoicingEffect("completed: suspension lifted", "lift", HoldKind.dispute),
    210: EInvoicingEffect("refused: no valid receivable", "close_cancelled"),
    211: EInvoicingEffect("payment transmitted: awaiting funds", "hold", HoldKind.awaiting_funds),
    212: EInvoicingEffect("collected", "payment"),
    213: EInvoicingEffect("rejected: no valid receivable", "close_cancelled"),
    220: EInvoicingEffect("cancelled: no valid receivable", "close_cancelled"),
    224: EInvoicingEffect("direct-payment request", "note"),
    225: EInvoicingEffect(
        "factored: the creditor no longer owns the claim", "hold", HoldKind.factored
    ),
    226: EInvoicingEffect("factored confidentially: collection continues", "note"),
    227: EInvoicingEffect("change of payee account", "note"),
    228: EInvoicingEffect("no longer factored: collection resumes", "lift", HoldKind.factored),
}


def einvoicing_effect(code: int) -> EInvoicingEffect:
    """What a status code means for collection; unknown codes are only noted."""
    return _EFFECTS.get(code, EInvoicingEffect(f"status {code} (not mapped)", "note"))
