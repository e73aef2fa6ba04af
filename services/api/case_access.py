"""Reach a tenant's case workflow: find it, read it, send it an update.

Every call to Temporal is bounded by TEMPORAL_RPC_TIMEOUT_S (plus a small margin): a
case whose worker is down, an engine that does not answer, or one that times out gives
503 with ``Retry-After`` (services.api.errors.temporal_error), never a 500.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from schemas.case import CaseView
from services.api.deps import Runtime
from services.api.errors import ApiError, field_error, temporal_error
from services.api.intake import GRACE_S
from storage.tables import cases

CaseHandle = WorkflowHandle[Any, Any]
TEMPORAL_FAILURES = (RPCError, RPCTimeoutOrCancelledError, TimeoutError, RuntimeError)
"""What a call to Temporal raises when the engine or the case's worker does not answer."""


def _timeout(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.temporal_rpc_timeout_s)


async def case_handle(runtime: Runtime, tenant: str, case_id: str) -> CaseHandle:
    """The case's workflow, if it belongs to this tenant (404 otherwise, even if it exists)."""
    async with runtime.reads.connect() as conn:
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
    """The live state (the query also answers for a closed case, if a worker runs)."""
    timeout = _timeout(runtime)
    try:
        async with asyncio.timeout(timeout.total_seconds() + GRACE_S):
            state: CaseView = await handle.query("state", result_type=CaseView, rpc_timeout=timeout)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        # The workflow could not answer (e.g. a failing task being retried): transient.
        raise temporal_error(err, timeout.total_seconds()) from err
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND and not _no_worker_text(err):
            raise ApiError(404, "not_found", "the case's history is no longer kept") from None
        raise temporal_error(err, timeout.total_seconds()) from err
    except TEMPORAL_FAILURES as err:
        raise temporal_error(err, timeout.total_seconds()) from err
    return state


async def case_update(
    runtime: Runtime, handle: CaseHandle, name: str, arg: Any, update_id: str | None = None
) -> CaseView:
    """Send an update. A rule refusal is 422 on its field, or 409 for the case's state
    (field ``type``); a finished workflow is a closed case: 409; no answer in time: 503.

    ``update_id``: the same id sent again (a retry after a 503 whose update was applied
    once a worker came back) gets the first answer instead of applying twice."""
    timeout = _timeout(runtime)
    try:
        async with asyncio.timeout(timeout.total_seconds() + GRACE_S):
            updated: CaseView = await handle.execute_update(
                name, arg, id=update_id, result_type=CaseView, rpc_timeout=timeout
            )
        return updated
    except WorkflowUpdateFailedError as err:
        raise _rejection(err) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND and not _no_worker_text(err):
            raise ApiError(409, "case_closed", "the case is closed") from None
        raise temporal_error(err, timeout.total_seconds()) from err
    except TEMPORAL_FAILURES as err:
        raise temporal_error(err, timeout.total_seconds()) from err


def _no_worker_text(err: RPCError) -> bool:
    return "poller" in str(err).lower()


def _rejection(err: WorkflowUpdateFailedError) -> ApiError:
    message = str(getattr(err.cause, "message", err.cause))
    field, _, reason = message.partition(": ")
    if not reason:
        return ApiError(409, "conflict", message)
    if field == "type":
        return ApiError(409, "conflict", reason, {"field": "type", "message": reason})
    return field_error(field, reason)
