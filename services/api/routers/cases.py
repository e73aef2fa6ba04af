"""Operators and auditors read a case; ERPs and operators report payments (answered by a
`CaseAck`, not the case: ERP keys may not read cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from eventstore.events.audit import AuditedRead
from legal import LegalError
from schemas.case import CaseView, PaymentIn
from schemas.money import Balance
from services.api.acks import CaseAck, ack
from services.api.case_access import case_handle, case_update
from services.api.case_progress import PendingAction, StreamStatus, case_pending_actions
from services.api.case_reads import Consistency, ReadInfo, read_case
from services.api.deps import PayerPrincipal, ReaderPrincipal, RuntimeDep, attributed
from services.api.errors import ApiError, ErrorResponse, field_error
from services.api.keys import Role
from services.api.routers.audit import record_auditor_read
from workflows.claim import statement_for
from workflows.payment_rules import PaymentRejected, check_payment

router = APIRouter(prefix="/v1/cases", tags=["cases"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


class ClaimToDate(BaseModel):
    """The décompte as of today (C. com. L441-10 II, C. civ. 1231-6), or why it is missing."""

    as_of: str
    principal: Balance | None = None
    paid: Balance | None = None
    penalties: Balance | None = None
    indemnity: Balance | None = None
    total: Balance | None = None
    rate_table_version: str | None = None
    notes: list[str] = []


class CaseDetail(CaseView):
    """The case plus what it claims today, its stream's completeness, how it was read, and
    (read live) the outside actions still being retried."""

    claim_to_date: ClaimToDate
    stream: StreamStatus
    read: ReadInfo
    pending_actions: list[PendingAction] | None = Field(
        default=None,
        description="Outside actions Temporal is retrying for the case (a failing append or "
        "provider), with their attempt and last error; only with `consistency=live`",
    )


def _claim(runtime: RuntimeDep, case: CaseView) -> ClaimToDate:
    today = datetime.now(UTC).date()
    if case.balance == 0:
        zero = Decimal("0.00")
        return ClaimToDate(as_of=str(today), total=zero, notes=["nothing is owed"])
    try:
        statement = statement_for(case, runtime.rates, today)
    except LegalError as err:
        return ClaimToDate(as_of=str(today), notes=[str(err)])
    return ClaimToDate(
        as_of=str(today),
        principal=statement.principal,
        paid=statement.paid,
        penalties=statement.penalties,
        indemnity=statement.indemnity,
        total=statement.total,
        rate_table_version=statement.rate_table_version,
        notes=list(statement.notes),
    )


@router.get("/{case_id}", operation_id="getCase", responses=NOT_FOUND)
async def get_case(
    case_id: str,
    principal: ReaderPrincipal,
    runtime: RuntimeDep,
    consistency: Annotated[
        Consistency,
        Query(
            description="read_model (default): the view the case's workflow last published, "
            "never waiting on a worker; live: ask the workflow now (503 when it cannot answer)"
        ),
    ] = Consistency.read_model,
    after_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=1_000_000_000,
            description="Read your writes: the `position` a write answered; the read waits "
            "briefly for the view to reflect it (see `read.caught_up`)",
        ),
    ] = None,
) -> CaseDetail:
    """The case: stage, balance, holds and their reasons, actions done, the next step and
    why, the prescription date, the journal, the claim (penalties) as of today, and which
    journal position the view reflects."""
    case, read = await read_case(runtime, principal.tenant, case_id, consistency, after_position)
    pending = None
    if read.source is Consistency.live:
        handle = await case_handle(runtime, principal.tenant, case_id)
        timeout = timedelta(seconds=runtime.settings.temporal_rpc_timeout_s)
        pending = await case_pending_actions(handle, timeout)
    detail = CaseDetail(
        **case.model_dump(),
        claim_to_date=_claim(runtime, case),
        stream=StreamStatus.of(case),
        read=read,
        pending_actions=pending,
    )
    if principal.role is Role.auditor:  # every auditor read leaves a trace (issue 4)
        await record_auditor_read(runtime, principal, AuditedRead.case, case_id)
    return detail


@router.post(
    "/{case_id}/payments",
    operation_id="recordPayment",
    responses={**NOT_FOUND, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
async def post_payment(
    case_id: str, payment: PaymentIn, principal: PayerPrincipal, runtime: RuntimeDep
) -> CaseAck:
    """Apply a payment. Partial: the balance drops and the timeline goes on; full: the case
    closes as paid. More than the balance: 422. The same reference and amount again: no effect.
    Any other payment on a closed case: 409."""
    if payment.paid_on > datetime.now(UTC).date():
        raise field_error("paid_on", "must not be in the future")
    payment = attributed(payment, principal)
    handle = await case_handle(runtime, principal.tenant, case_id)
    try:
        update_id = f"payment/{payment.reference}/{payment.amount}"
        return ack(await case_update(runtime, handle, "apply_payment", payment, update_id))
    except ApiError as err:
        if err.code != "case_closed":
            raise
    # The workflow has finished (case closed): a retry of a recorded payment is fine; a
    # reused reference is the body's fault (422); any other payment, the case's state (409).
    # Its last view is in the read model (published before the workflow completed).
    state, _ = await read_case(runtime, principal.tenant, case_id)
    try:
        check_payment(state, payment)
    except PaymentRejected as rejected:
        if rejected.field == "reference":
            raise field_error(rejected.field, rejected.message) from None
        outcome = state.outcome.value if state.outcome else "closed"
        raise ApiError(409, "case_closed", f"the case is closed ({outcome})") from None
    return ack(state)
