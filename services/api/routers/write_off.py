"""The write-off report of a case closed as irrecoverable: whether the loss is deductible or
only a provision, the VAT that may be recovered on the unpaid amount (CGI art. 272) and the
accounting entries, as JSON or as the CSV the creditor's accountant imports
(legal/write_off.py computes it; the case gives the amounts, payments and evidence)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from eventstore.events.audit import AuditedRead
from legal import LegalError, Payment
from legal.write_off import Evidence, write_off_assessment
from legal.write_off_report import write_off_csv, write_off_report
from schemas.case import Outcome
from services.api.case_reads import read_case
from services.api.deps import ReaderPrincipal, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from services.api.keys import Role
from services.api.routers.audit import record_auditor_read
from storage.tables import cases
from workflows.claim import statement_for

router = APIRouter(prefix="/v1/cases", tags=["cases"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


@router.get("/{case_id}/write-off", operation_id="getWriteOffReport", responses=RESPONSES)
async def write_off(
    case_id: str,
    principal: ReaderPrincipal,
    runtime: RuntimeDep,
    vat_exigibility: Annotated[
        str,
        Query(
            pattern="^(debits|encaissements)$",
            description="How the invoice's VAT fell due: debits (goods, or services on the "
            "debits option) or encaissements (services paid: nothing to recover)",
        ),
    ],
    vat_rate: Annotated[
        Decimal | None,
        Query(ge=0, le=100, description="The invoice's VAT rate in percent (20, 10, 5.5)"),
    ] = None,
    vat_amount: Annotated[
        Decimal | None,
        Query(ge=0, le=999_999_999, description="The VAT the invoice states (preferred)"),
    ] = None,
    doubtful_on: Annotated[
        date | None, Query(description="The day the claim became doubtful (provision)")
    ] = None,
    accessories_booked: Annotated[
        bool, Query(description="The penalties and indemnity were booked as receivables")
    ] = False,
    format: Annotated[ReportFormat, Query(description="json (default) or csv")] = (
        ReportFormat.json
    ),
    after_position: Annotated[
        int | None,
        Query(ge=0, le=1_000_000_000, description="Read your write: the close's `position`"),
    ] = None,
) -> Any:
    """The tax and accounting consequences of the case's write-off, from its amounts, its
    payments and the evidence its close recorded (CloseCase.evidence)."""
    if vat_rate is None and vat_amount is None:
        raise ApiError(422, "validation_error", "vat_rate or vat_amount: one is required")
    case, _ = await read_case(runtime, principal.tenant, case_id, after_position=after_position)
    if case.outcome is not Outcome.written_off or case.closed_at is None:
        raise ApiError(409, "conflict", "the case is not closed as written off")
    async with runtime.reads.connect() as conn:
        invoice = (
            await conn.execute(
                select(cases.c.invoice).where(
                    cases.c.case_id == case_id, cases.c.tenant == principal.tenant
                )
            )
        ).scalar_one()
    closed_on = case.closed_at.date()
    penalties = indemnity = Decimal("0.00")
    try:
        statement = statement_for(case, runtime.rates, closed_on)
        penalties, indemnity = statement.penalties, statement.indemnity
    except LegalError:
        pass  # a rate not configured: the report states the principal alone
    try:
        assessment = write_off_assessment(
            invoice_reference=case.invoice_number,
            invoice_date=date.fromisoformat(invoice["issue_date"]),
            principal_ttc=case.amount_due - case.credited,
            evidence=[
                Evidence(kind=e.kind, on=e.on, reference=e.reference, issuer=e.issuer)
                for e in case.write_off_evidence
            ],
            debtor_kind=case.debtor_kind,
            vat_exigibility=vat_exigibility,
            assessed_on=closed_on,
            vat_rate=vat_rate,
            vat_amount=vat_amount,
            payments=[Payment(on=p.paid_on, amount=p.amount) for p in case.payments],
            penalties=penalties,
            indemnity=indemnity,
            accessories_booked=accessories_booked,
            doubtful_on=doubtful_on,
        )
    except LegalError as err:
        raise ApiError(422, "validation_error", str(err)) from None
    if principal.role is Role.auditor:  # every auditor read leaves a trace
        await record_auditor_read(runtime, principal, AuditedRead.write_off_report, case_id)
    if format is ReportFormat.csv:
        return Response(
            write_off_csv(assessment, french=True),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="passage-en-perte-{case_id}.csv"'
            },
        )
    return write_off_report(assessment)
