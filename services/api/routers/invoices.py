"""ERP intake: POST /v1/invoices."""

from __future__ import annotations

from fastapi import APIRouter, Response

from schemas.case import CaseCreated
from schemas.invoice import InvoiceIn
from services.api.deps import ErpPrincipal, RuntimeDep
from services.api.errors import ErrorResponse
from services.api.intake import register_invoice

router = APIRouter(prefix="/v1", tags=["erp"])


@router.post(
    "/invoices",
    operation_id="registerInvoice",
    status_code=201,
    responses={
        200: {"model": CaseCreated, "description": "Same invoice already registered"},
        409: {"model": ErrorResponse, "description": "Same number, different content"},
        422: {"model": ErrorResponse},
        503: {"model": ErrorResponse, "description": "Temporal unavailable; nothing recorded"},
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
