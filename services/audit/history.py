"""A case's Temporal workflow history, exported as Temporal itself writes it."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode


class HistoryNotFound(LookupError):
    """Temporal has no history for the workflow (never started, or past retention)."""


class TemporalUnavailable(RuntimeError):
    """Temporal did not answer."""


async def fetch_history(
    client: Client, workflow_id: str, rpc_timeout: timedelta
) -> WorkflowHistory:
    """The history of the workflow's latest run (every event, paged by the SDK)."""
    try:
        return await client.get_workflow_handle(workflow_id).fetch_history(rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise HistoryNotFound(f"no workflow history for {workflow_id}") from err
        raise TemporalUnavailable(str(err)) from err
    except RuntimeError as err:  # the lazy client could not connect
        raise TemporalUnavailable(str(err)) from err
