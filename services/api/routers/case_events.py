"""Events that change a case's course, one endpoint each (default-policies.md's table).

Every endpoint validates its body, checks the caller's role, records the caller's actor id
as the event's `by` (a body naming `by` is refused), and sends the event to the case's
workflow as the `apply_event` update: the workflow refuses an event that cannot apply (409
for the case's state, 422 for a field) before anything changes. Each answers a `CaseAck`,
not the case: ERP keys may not read cases; operators GET the case for the rest.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import ConfigDict, Field, ValidationError

from policies.catalog import load_catalog
from schemas.bounds import MAX_NOTE, ApiModel
from schemas.case_events import (
    ApprovalDecision,
    CaseEventEnvelope,
    CloseCase,
    CreditNote,
    DisputeOpened,
    DisputeResolved,
    EInvoicingStatus,
    InsolvencyPublished,
    MigratePolicy,
    OperatorPause,
    OperatorResume,
    PartnerReport,
    PaymentPlanAgreed,
    PhoneOutcome,
    PromiseToPay,
    RegisteredLetterStatus,
    RetryStep,
)
from services.api.acks import CaseAck, ack
from services.api.case_access import case_handle, case_update
from services.api.deps import OperatorPrincipal, Runtime, RuntimeDep, attributed, require
from services.api.errors import ErrorResponse, field_error
from services.api.keys import Principal, Role

router = APIRouter(prefix="/v1/cases", tags=["case events"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}
Operator = require(Role.operator)
ErpOrOperator = require(Role.erp, Role.operator)
Erp = require(Role.erp)


async def _send(
    runtime: Runtime, principal: Principal, case_id: str, event: Any, update_id: str | None = None
) -> CaseAck:
    """``update_id``: a deterministic id makes a repeat of the same write answer the first
    result instead of applying twice (an e-credit note's file hash, say)."""
    event = attributed(event, principal)
    handle = await case_handle(runtime, principal.tenant, case_id)
    envelope = CaseEventEnvelope(event=event)
    case = await case_update(runtime, handle, "apply_event", envelope, update_id=update_id)
    return ack(case)


def _route(path: str, operation_id: str, body: type[Any], role: Any, doc: str) -> None:
    async def endpoint(case_id: str, event: Any, principal: Any, runtime: Any) -> CaseAck:
        return await _send(runtime, principal, case_id, event)

    # Real objects, not the strings postponed annotations would leave: FastAPI reads these.
    endpoint.__annotations__ = {
        "case_id": str,
        "event": body,
        "principal": Annotated[Principal, Depends(role)],
        "runtime": RuntimeDep,
        "return": CaseAck,
    }
    endpoint.__doc__ = doc
    router.add_api_route(
        f"/{{case_id}}/{path}",
        endpoint,
        methods=["POST"],
        operation_id=operation_id,
        responses=RESPONSES,
        summary=doc.splitlines()[0],
        description=doc,
    )


_route(
    "promises",
    "recordPromise",
    PromiseToPay,
    ErpOrOperator,
    "Promise to pay: the timeline pauses until the date + the policy's grace days, "
    "then resumes by itself if the balance is still unpaid.",
)
_route(
    "payment-plan",
    "agreePaymentPlan",
    PaymentPlanAgreed,
    Operator,
    "Payment plan: instalments must total the balance; the timeline is suspended while "
    "they arrive on time; a missed one resumes it for the whole balance. Restarts "
    "prescription (C. civ. 2240).",
)
_route(
    "disputes",
    "openDispute",
    DisputeOpened,
    ErpOrOperator,
    "Dispute opened: every step is suspended until it is resolved.",
)
_route(
    "disputes/resolution",
    "resolveDispute",
    DisputeResolved,
    Operator,
    "Dispute resolved: upheld cancels the invoice (or credits `credit_note_amount`); "
    "rejected resumes the timeline.",
)
_route(
    "credit-notes",
    "recordCreditNote",
    CreditNote,
    ErpOrOperator,
    "Credit note: lowers the balance; a balance credited to zero closes as cancelled.",
)
_route(
    "pause",
    "pauseCase",
    OperatorPause,
    Operator,
    "Operator pause: a manual hold, with who and why recorded.",
)
_route("resume", "resumeCase", OperatorResume, Operator, "Operator resume: lifts the manual hold.")
_route(
    "insolvency",
    "recordInsolvency",
    InsolvencyPublished,
    Operator,
    "Insolvency published (BODACC): all steps freeze (C. com. L622-21) and the declaration "
    "of claim is prepared for the mandataire, due within 2 months (R622-24).",
)
_route(
    "einvoicing-status",
    "recordEInvoicingStatus",
    EInvoicingStatus,
    Erp,
    "E-invoicing lifecycle status from the approved platform (mapping: see docs/api.md).",
)
_route(
    "registered-letter-status",
    "recordRegisteredLetterStatus",
    RegisteredLetterStatus,
    Operator,
    "Registered letter status: the formal notice's deadline runs from the first "
    "presentation; 'not_collected' and 'refused' count as presented.",
)
_route(
    "phone-outcome",
    "recordPhoneOutcome",
    PhoneOutcome,
    Operator,
    "Outcome of the operator's call: reached, promise (with date), dispute (with reason), "
    "no answer.",
)
_route(
    "partner-reports",
    "recordPartnerReport",
    PartnerReport,
    Operator,
    "Status report from the agency or commissaire de justice: amounts collected, title "
    "obtained (enforcement follows), enforcement measures, closure.",
)
_route(
    "close",
    "closeCase",
    CloseCase,
    Operator,
    "Close a case by hand: written off, handed over or cancelled, with the reason.",
)
_route(
    "approvals",
    "decideApproval",
    ApprovalDecision,
    Operator,
    "Approve or reject the step that awaits approval (a formal notice, a hand-off, a court "
    "file: the policy's `requires_approval`), with who (your key), when and why "
    "(`reason`, required to reject). Approved, the step runs now; rejected, it does not "
    "and the case waits for an operator (resume asks again, close ends it). 409 if that "
    "step does not await approval.",
)


@router.post("/{case_id}/policy", operation_id="migrateCasePolicy", responses=RESPONSES)
async def migrate_policy(
    case_id: str,
    migration: MigratePolicy,
    principal: OperatorPrincipal,
    runtime: RuntimeDep,
) -> CaseAck:
    """Move a running case to another policy (or a newer version of its own): editing a
    policy file affects new cases only, so existing ones move only when an operator says so.
    Steps already taken keep their place; the reason and the operator are recorded."""
    try:
        policy = load_catalog()[migration.policy_id]
    except KeyError:
        raise field_error("policy_id", f"unknown policy {migration.policy_id!r}") from None
    return await _send(runtime, principal, case_id, migration.model_copy(update={"policy": policy}))


class RetryStepIn(ApiModel):
    """Body of POST /v1/cases/{case_id}/steps/{step}/retry (optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=MAX_NOTE, description="Why it is retried")


@router.post("/{case_id}/steps/{step}/retry", operation_id="retryStep", responses=RESPONSES)
async def retry_step(
    case_id: str,
    step: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", description="The failed step's key")],
    principal: OperatorPrincipal,
    runtime: RuntimeDep,
    body: Annotated[RetryStepIn | None, Body()] = None,
) -> CaseAck:
    """Re-run a step that failed and blocks the case (e.g. a letter the provider refused),
    with the same idempotency key: it happens at most once. 409 if that step has not failed."""
    note = body.note if body is not None else None
    try:
        event = RetryStep(step=step, note=note)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "step"
        raise field_error(where, str(first["msg"])) from None
    return await _send(runtime, principal, case_id, event)
