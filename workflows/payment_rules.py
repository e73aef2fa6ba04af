"""Whether a payment can be applied to a case: shared by the workflow's validator and tests."""

from __future__ import annotations

from schemas.case import CaseView, PaymentIn, Stage


class PaymentRejected(ValueError):
    """A payment that cannot be applied; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_duplicate(case: CaseView, payment: PaymentIn) -> bool:
    """The same bank reference and amount again: a retry, applied once."""
    return any(
        p.reference == payment.reference and p.amount == payment.amount for p in case.payments
    )


def check_payment(case: CaseView, payment: PaymentIn) -> None:
    """Raise PaymentRejected unless the payment may be applied (or is a harmless retry)."""
    if is_duplicate(case, payment):
        return
    if any(p.reference == payment.reference for p in case.payments):
        raise PaymentRejected("reference", "already used for another amount on this case")
    if case.stage is Stage.closed:
        raise PaymentRejected("type", f"the case is closed ({case.outcome})")
    if payment.amount > case.balance:
        raise PaymentRejected(
            "amount", f"{payment.amount} exceeds the balance of {case.balance} {case.currency}"
        )
