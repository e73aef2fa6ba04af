"""POST /v1/debtors/{debtor_id}/payments: a payment for the debtor, allocated by rule.

The recording itself is services/api/debtor_payment_apply.py, shared with the online
payment path; this router checks the caller and the date, and names who reported it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.api.debtor_payment_apply import (
    DebtorPaymentIn,
    DebtorPaymentOut,
    ShareResult,
    record_debtor_payment,
)
from services.api.deps import PayerPrincipal, RuntimeDep, attributed
from services.api.errors import ErrorResponse, field_error

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}
DebtorId = Annotated[str, Path(pattern=r"^dbt-[0-9a-f]{24}$", max_length=40)]

__all__ = ["DebtorPaymentIn", "DebtorPaymentOut", "ShareResult", "router"]


@router.post("/{debtor_id}/payments", operation_id="recordDebtorPayment", responses=RESPONSES)
async def post_debtor_payment(
    debtor_id: DebtorId, payment: DebtorPaymentIn, principal: PayerPrincipal, runtime: RuntimeDep
) -> DebtorPaymentOut:
    """A payment the ERP could not allocate to invoices: allocated to the debtor's open
    invoices by C. civ. 1342-10 (due before not due, then the oldest due first; the
    debtor's own choice first when given), each invoice's share applied to its case as a
    payment with this reference. Recorded before it applies: the same reference and body
    again re-applies the same shares (each case applies its share once)."""
    if payment.paid_on > datetime.now(UTC).date():
        raise field_error("paid_on", "must not be in the future")
    payment = attributed(payment, principal)
    return await record_debtor_payment(runtime, principal.tenant, debtor_id, payment)
