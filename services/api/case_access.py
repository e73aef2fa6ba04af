"""Reach a tenant's case workflow: find it, read it, send it an update."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from schemas.case import CaseView
from services.api.deps import Runtime
from services.api.errors import ApiError, field_error
from services.api.intake import temporal_unavailable
from services.db.tables import cases

CaseHandle = WorkflowHandle[Any, Any]


def _timeout(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.temporal_rpc_timeout_s)


async def case_handle(runtime: Runtime, tenant: str, case_id: str) -> CaseHandle:
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


async def case_state(runtime: Runtime, handle: CaseHandle) -> CaseView:
    """The live state (the query also answers for a closed case)."""
    try:
        state: CaseView = await handle.query(
            "state", result_type=CaseView, rpc_timeout=_timeout(runtime)
        )
    except (RPCError, RuntimeError) as err:
        raise temporal_unavailable(err) from err
    return state


async def case_update(runtime: Runtime, handle: CaseHandle, name: str, arg: Any) -> CaseView:
    """Send an update. A rule refusal is 422 on its field, or 409 for the case's state
    (field ``type``); a finished workflow is a closed case: 409."""
    try:
        updated: CaseView = await handle.execute_update(
            name, arg, result_type=CaseView, rpc_timeout=_timeout(runtime)
        )
        return updated
    except WorkflowUpdateFailedError as err:
        raise _rejection(err) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ApiError(409, "case_closed", "the case is closed") from None
        raise temporal_unavailable(err) from err


def _rejection(err: WorkflowUpdateFailedError) -> ApiError:
    message = str(getattr(err.cause, "message", err.cause))
    field, _, reason = message.partition(": ")
    if not reason:
        return ApiError(409, "conflict", message)
    if field == "type":
        return ApiError(409, "conflict", reason, {"field": "type", "message": reason})
    return field_error(field, reason)
