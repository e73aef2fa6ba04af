"""A case's Temporal workflow history, exported as Temporal itself writes it: every run,
since a long case continues as new and each run holds only part of its life."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

MAX_RUNS = 1000
"""A case continues as new every few thousand events: this bounds a broken chain."""


class HistoryNotFound(LookupError):
    """Temporal has no history for the workflow (never started, or past retention)."""


class TemporalUnavailable(RuntimeError):
    """Temporal did not answer."""


async def fetch_history(
    client: Client, workflow_id: str, rpc_timeout: timedelta, run_id: str | None = None
) -> WorkflowHistory:
    """The history of one run (the latest by default; every event, paged by the SDK)."""
    try:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        return await handle.fetch_history(rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise HistoryNotFound(f"no workflow history for {workflow_id}") from err
        raise TemporalUnavailable(str(err)) from err
    except RuntimeError as err:  # the lazy client could not connect
        raise TemporalUnavailable(str(err)) from err


def previous_run_id(history: WorkflowHistory) -> str | None:
    """The run this one continued from (None for a case's first run)."""
    if not history.events:
        return None
    started = history.events[0].workflow_execution_started_event_attributes
    return started.continued_execution_run_id or None


async def fetch_runs(
    client: Client, workflow_id: str, rpc_timeout: timedelta
) -> list[tuple[str, WorkflowHistory]]:
    """Every run of the workflow, oldest first, as (run id, history): the latest run's
    start names the run it continued from, and so on back to the first."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise HistoryNotFound(f"no workflow history for {workflow_id}") from err
        raise TemporalUnavailable(str(err)) from err
    except RuntimeError as err:
        raise TemporalUnavailable(str(err)) from err
    runs: list[tuple[str, WorkflowHistory]] = []
    run_id: str | None = described.run_id
    while run_id and len(runs) < MAX_RUNS:
        history = await fetch_history(client, workflow_id, rpc_timeout, run_id=run_id)
        runs.append((run_id, history))
        run_id = previous_run_id(history)
    runs.reverse()
    return runs
