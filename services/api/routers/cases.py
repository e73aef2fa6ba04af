"""Operators and auditors read a case; ERPs and operators report payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from schemas.case import CaseView, PaymentIn
from services.api.deps import PayerPrincipal, ReaderPrincipal, Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse, field_error
from services.api.intake import temporal_unavailable
from services.db.tables import cases
from workflows.payment_rules import PaymentRejected, check_payment

router = APIRouter(prefix="/v1/cases", tags=["cases"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


async def _handle(runtime: Runtime, tenant: str, case_id: str) -> WorkflowHandle[object, object]:
    """The case's workflow, if it belongs to this tenant (404 otherwise, even if it exists)."""
    async with runtime.engine.connect() as conn:
        workflow_id = (
            await conn.execute(
                select(cases.c.workflow_id).where(
                    cases.c.case_id == case_id, cases.c.tenant == tenant
                )
            )
        ).scalar_one_or_none()
    if workflow_id is None:
        raise ApiError(404, "not_found", f"no case {case_id}")
    return runtime.temporal.get_workflow_handle(workflow_id)


async def _state(runtime: Runtime, handle: WorkflowHandle[object, object]) -> CaseView:
    try:
        state: CaseView = await handle.query(
            "state",
            result_type=CaseView,
            rpc_timeout=timedelta(seconds=runtime.settings.temporal_rpc_timeout_s),
        )
    except (RPCError, RuntimeError) as err:
        raise temporal_unavailable(err) from err
    return state


@router.get("/{case_id}", operation_id="getCase", responses=NOT_FOUND)
async def get_case(case_id: str, principal: ReaderPrincipal, runtime: RuntimeDep) -> CaseView:
    """The live case: stage, balance, actions done and the next planned action."""
    return await _state(runtime, await _handle(runtime, principal.tenant, case_id))


@router.post(
    "/{case_id}/payments",
    operation_id="recordPayment",
    responses={**NOT_FOUND, 422: {"model": ErrorResponse}},
)
async def post_payment(
    case_id: str, payment: PaymentIn, principal: PayerPrincipal, runtime: RuntimeDep
) -> CaseView:
    """Apply a payment. Partial: the balance drops and the timeline goes on; full: the case
    closes as paid. More than the balance: 422. The same reference and amount again: no effect.
    """
    if payment.paid_on > datetime.now(UTC).date():
        raise field_error("paid_on", "must not be in the future")
    handle = await _handle(runtime, principal.tenant, case_id)
    try:
        updated: CaseView = await handle.execute_update(
            "apply_payment",
            payment,
            result_type=CaseView,
            rpc_timeout=timedelta(seconds=runtime.settings.temporal_rpc_timeout_s),
        )
        return updated
    except WorkflowUpdateFailedError as err:
        raise _rejection(err) from None
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise temporal_unavailable(err) from err
    # The workflow has finished (case closed): a retry of a recorded payment is fine.
    state = await _state(runtime, handle)
    try:
        check_payment(state, payment)
    except PaymentRejected as rejected:
        raise field_error(rejected.field, rejected.message) from None
    return state


def _rejection(err: WorkflowUpdateFailedError) -> ApiError:
    message = str(err.cause.message if hasattr(err.cause, "message") else err.cause)
    field, _, reason = message.partition(": ")
    if not reason:
        return field_error("amount", message)
    return field_error(field, reason)
