"""ERP intake: POST /v1/invoices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from schemas.case import CaseCreated
from schemas.invoice import InvoiceIn
from services.api.deps import ErpPrincipal, RuntimeDep
from services.api.errors import ErrorResponse
from services.api.intake import register_invoice

router = APIRouter(prefix="/v1", tags=["erp"])

CASE_OPERATIONS = (
    "getCase",
    "recordPayment",
    "recordPromise",
    "agreePaymentPlan",
    "openDispute",
    "resolveDispute",
    "recordCreditNote",
    "pauseCase",
    "resumeCase",
    "recordInsolvency",
    "recordEInvoicingStatus",
    "recordRegisteredLetterStatus",
    "recordPhoneOutcome",
    "recordPartnerReport",
    "closeCase",
    "migrateCasePolicy",
    "retryStep",
    "getCaseEvents",
    "getCaseHistory",
    "getCaseDossier",
)
"""Operations on one case: the OpenAPI links from the registered invoice's ``case_id``
(clients and fuzzers follow them; tests/unit checks each names a real operation)."""
CASE_LINKS: dict[str, Any] = {
    operation: {
        "operationId": operation,
        "parameters": {"case_id": "$response.body#/case_id"},
        "description": "The case this invoice opened",
    }
    for operation in CASE_OPERATIONS
}


@router.post(
    "/invoices",
    operation_id="registerInvoice",
    status_code=201,
    responses={
        201: {"description": "Invoice stored, case started", "links": CASE_LINKS},
        200: {
            "model": CaseCreated,
            "description": "Same invoice already registered",
            "links": CASE_LINKS,
        },
        409: {"model": ErrorResponse, "description": "Same number, different content"},
        422: {"model": ErrorResponse, "description": "A field is invalid or out of range"},
        503: {
            "model": ErrorResponse,
            "description": "Temporal unavailable or too slow (see Retry-After); nothing recorded",
        },
    },
)
async def post_invoice(
    invoice: InvoiceIn, principal: ErpPrincipal, runtime: RuntimeDep, response: Response
) -> CaseCreated:
    """Register an unpaid invoice and start its collection case.

    Answers 201 only once the invoice is stored and its workflow started;
    a retry of the same invoice answers 200 with the same case id.
    """
    created, is_new = await register_invoice(runtime, principal.tenant, invoice)
    response.status_code = 201 if is_new else 200
    return created
