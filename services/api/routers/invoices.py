"""ERP intake: POST /v1/invoices, as JSON (InvoiceIn) or as an EN 16931 e-invoice.

The e-invoice path (UBL 2.1, CII, Factur-X PDF; see inbound/einvoice and docs/api.md) is a
route of its own on the same path and method, chosen by Content-Type before the JSON route
is tried, so the JSON route, its validation and its schema stay exactly as they were.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Scope

from inbound.einvoice.document import EInvoice, OriginalFile
from inbound.einvoice.errors import EInvoiceRejected, Problem
from inbound.einvoice.mapping import QUERY_FALLBACKS, CreditNoteFor, to_credit_note, to_invoice
from inbound.einvoice.parse import MEDIA_TYPES, einvoice_media_type, parse_einvoice
from inbound.einvoice.seller import check_seller_siren
from schemas.case import CaseCreated
from schemas.invoice import InvoiceIn
from services.api.acks import CaseAck, ack
from services.api.case_access import case_handle, case_state
from services.api.case_files import store_case_file
from services.api.case_ids import case_id_for
from services.api.deps import ErpPrincipal, Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from services.api.intake import register_invoice
from services.api.keys import Principal
from services.api.routers.case_events import _send as send_case_event
from storage.tables import case_files, cases

log = logging.getLogger(__name__)

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


MAX_EINVOICE_BYTES = 10 * 1024 * 1024
"""Largest e-invoice body read (a Factur-X PDF with its pages); larger is 413."""
_SIREN = re.compile(r"^[0-9]{9}$")


def parse_tenant_sirens(spec: str) -> dict[str, str]:
    """`tenant:siren,...` (RECOUVRE_TENANT_SIRENS): the SIREN each creditor invoices under;
    spaces and dots inside a SIREN are ignored ("732 829 320")."""
    sirens: dict[str, str] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        tenant, sep, siren = entry.partition(":")
        siren = re.sub(r"[ .]", "", siren)
        if not (sep and tenant.strip() and _SIREN.match(siren)):
            raise ValueError(f"RECOUVRE_TENANT_SIRENS: {entry!r} is not tenant:siren (9 digits)")
        sirens[tenant.strip()] = siren
    return sirens


async def keep_original(
    runtime: Runtime, tenant: str, case_id: str, original: OriginalFile, kind: str = "einvoice"
) -> bool:
    """Store a file of case ``case_id`` after the fact (a credit note's): sealed with the
    case's debtor's data key. Returns whether a row was written."""
    async with runtime.engine.begin() as conn:
        invoice = (
            await conn.execute(
                select(cases.c.invoice).where(cases.c.case_id == case_id, cases.c.tenant == tenant)
            )
        ).scalar_one()
        debtor_id: str | None = (invoice.get("debtor") or {}).get("debtor_id")
        return await store_case_file(
            conn, runtime.debtors, tenant, case_id, debtor_id, original, kind
        )


async def _kept(runtime: Runtime, tenant: str, case_id: str, sha256: str) -> bool:
    async with runtime.reads.connect() as conn:
        found = await conn.execute(
            select(case_files.c.sha256).where(
                case_files.c.case_id == case_id,
                case_files.c.tenant == tenant,
                case_files.c.sha256 == sha256,
            )
        )
        return found.first() is not None


def credit_note_update_id(case_id: str, sha256: str) -> str:
    """The apply_event update id of an e-credit note: the same file sent again (a retry, a
    second upload) is the same update, which Temporal answers without applying it twice."""
    return f"credit-note-file:{case_id}:{sha256}"


class _EInvoiceRoute(APIRoute):
    """POST /v1/invoices when the Content-Type is an e-invoice's; else the JSON route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        content_type = Headers(scope=scope).get("content-type")
        if match is Match.NONE or einvoice_media_type(content_type) is None:
            return Match.NONE, {}
        return match, child_scope


def _refused(err: EInvoiceRejected) -> ApiError:
    details = [{"field": p.where, "message": p.message} for p in err.problems]
    return ApiError(422, "validation_error", str(err), details)


def _one(problem: Problem) -> ApiError:
    return _refused(EInvoiceRejected([problem]))


async def _apply_credit_note(
    runtime: Runtime, principal: Principal, document: EInvoice, credit: CreditNoteFor
) -> CaseAck:
    case_id = case_id_for(principal.tenant, credit.invoice_number)
    try:
        handle = await case_handle(runtime, principal.tenant, case_id)
    except ApiError as err:
        if err.status != 404:
            raise
        message = f"no case for invoice {credit.invoice_number!r}: register the invoice first"
        raise _one(Problem(document.where("BT-25"), message)) from None
    sha256 = document.original.sha256
    if await _kept(runtime, principal.tenant, case_id, sha256):
        # Kept only once applied: this file's credit is in the balance already (the update
        # id alone would not say so after the workflow continued as new, or once closed).
        return ack(await case_state(runtime, handle))
    try:
        # The same path as POST /v1/cases/{case_id}/credit-notes (recordCreditNote), under
        # an update id of the file's hash: a concurrent or retried post applies once.
        acked = await send_case_event(
            runtime, principal, case_id, credit.event, credit_note_update_id(case_id, sha256)
        )
    except ApiError as err:
        fields = [d.get("field") for d in err.details or [] if isinstance(d, dict)]
        if err.status != 422 or fields != ["amount"]:
            raise
        raise _one(Problem(document.where("BT-115"), err.details[0]["message"])) from None
    await keep_original(runtime, principal.tenant, case_id, document.original, "credit_note")
    return acked


def _read(
    content: bytes, media_type: str, query: dict[str, str], siren: str | None
) -> tuple[EInvoice, InvoiceIn | CreditNoteFor]:
    document = parse_einvoice(content, media_type)
    check_seller_siren(document, siren)
    if document.is_credit_note:
        return document, to_credit_note(document)
    return document, to_invoice(document, query)


async def post_einvoice(
    request: Request, principal: ErpPrincipal, runtime: RuntimeDep, response: Response
) -> CaseCreated | CaseAck:
    """Register an e-invoice (201 / 200 as for JSON), or apply an e-credit note (200 CaseAck)."""
    too_large = ApiError(413, "payload_too_large", f"body: more than {MAX_EINVOICE_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EINVOICE_BYTES:
        raise too_large
    content = await request.body()
    if len(content) > MAX_EINVOICE_BYTES:
        raise too_large
    media_type = einvoice_media_type(request.headers.get("content-type")) or ""
    query = dict(request.query_params)
    try:
        # PDF and XSD work is CPU-bound: off the event loop, so other requests keep flowing.
        siren = runtime.tenant_sirens.get(principal.tenant)
        document, intent = await run_in_threadpool(_read, content, media_type, query, siren)
    except EInvoiceRejected as err:
        raise _refused(err) from None
    if isinstance(intent, CreditNoteFor):
        response.status_code = 200
        return await _apply_credit_note(runtime, principal, document, intent)
    # The file is kept with the case, before its workflow runs (a reminder may attach it).
    created, is_new = await register_invoice(
        runtime, principal.tenant, intent, (document.original, "einvoice")
    )
    response.status_code = 201 if is_new else 200
    return created


# Before the JSON route: the first route that matches a request handles it.
router.add_api_route(
    "/invoices",
    post_einvoice,
    methods=["POST"],
    operation_id="registerEInvoice",
    include_in_schema=False,
    status_code=201,
    route_class_override=_EInvoiceRoute,
)
_BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
EINVOICE_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "An InvoiceIn as JSON, or an EN 16931 e-invoice as sent: UBL 2.1 "
        "Invoice or CreditNote, UN/CEFACT CII (application/xml, text/xml, "
        "application/vnd.oasis.ubl+xml), or a Factur-X / ZUGFeRD 2 PDF (application/pdf), "
        "any level from MINIMUM. Query parameters "
        + ", ".join(f"`{name}`" for name in (*QUERY_FALLBACKS, "policy"))
        + " fill what the document does not carry (a MINIMUM profile has no due date). "
        "A credit note (UBL CreditNote, type code 381) applies to the case of the invoice "
        "it references (BT-25) and answers 200 with a CaseAck. A refused business term is "
        'a 422 whose field is the term and its XPath, e.g. "BT-9 /rsm:CrossIndustryInvoice/…".',
        "content": {media_type: _BINARY for media_type in MEDIA_TYPES},
    }
}


@router.post(
    "/invoices",
    operation_id="registerInvoice",
    status_code=201,
    openapi_extra=EINVOICE_BODY,
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
    original = None
    if invoice.document is not None:  # the ERP's own PDF, a document of the case
        pdf = OriginalFile.of(invoice.document.content, invoice.document.media_type)
        original = (pdf, "invoice")
    created, is_new = await register_invoice(runtime, principal.tenant, invoice, original)
    response.status_code = 201 if is_new else 200
    return created
