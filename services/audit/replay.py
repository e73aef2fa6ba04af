"""Replay cases' recorded histories against the workflow code this process runs.

A replay re-executes the workflow code over its recorded history without calling any
activity: a history the current code would not have produced (a non-determinism) fails
with the SDK's own message. Histories are fetched a few at a time, then replayed one
after the other by a single replay worker.

Histories are replayed with the data converter of the client that fetched them (the API's:
with the payload codec when encryption is on), so encrypted histories decrypt as they
replay and those recorded before the codec pass through unchanged. Fetching alone never
decodes: a history holds its payloads as Temporal stores them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from services.audit.case_records import CaseRecord
from services.audit.history import HistoryNotFound, TemporalUnavailable, fetch_history
from services.audit.models import ReplayCaseResult, ReplayTotals
from workflows.collection_case import CollectionCaseWorkflow
from workflows.debtor_conversation import DebtorConversationWorkflow
from workflows.sandbox import workflow_runner

FETCH_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class _Fetched:
    case: CaseRecord
    history: WorkflowHistory | None
    error: str | None = None
    error_type: str | None = None


def replayer(data_converter: DataConverter = pydantic_data_converter) -> Replayer:
    """A replayer set up exactly as recouvre's workers run the case workflow and the
    debtor's conversation; give it the workers' data converter
    (services.payload_codec.data_converter) for encrypted histories."""
    return Replayer(
        workflows=[CollectionCaseWorkflow, DebtorConversationWorkflow],
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    )


async def _fetch_all(
    client: Client, found: Sequence[CaseRecord], rpc_timeout: timedelta
) -> list[_Fetched]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(case: CaseRecord) -> _Fetched:
        async with gate:
            try:
                history = await fetch_history(client, case.workflow_id, rpc_timeout)
            except HistoryNotFound as err:
                return _Fetched(case, None, str(err), "history_not_found")
            except TemporalUnavailable as err:
                return _Fetched(case, None, f"Temporal unavailable: {err}", "history_unavailable")
        return _Fetched(case, history)

    return list(await asyncio.gather(*(one(case) for case in found)))


def _run_id(history: WorkflowHistory) -> str | None:
    if not history.events:
        return None
    started = history.events[0]
    if not started.HasField("workflow_execution_started_event_attributes"):
        return None
    return started.workflow_execution_started_event_attributes.original_execution_run_id or None


async def replay_histories(
    histories: Sequence[WorkflowHistory],
    data_converter: DataConverter = pydantic_data_converter,
) -> list[tuple[WorkflowHistory, Exception | None]]:
    """Each history with its replay failure (None when it replayed), in the given order."""
    if not histories:
        return []

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    replayed = []
    async with replayer(data_converter).workflow_replay_iterator(feed()) as results:
        async for result in results:
            replayed.append((result.history, result.replay_failure))
    return replayed


async def replay_cases(
    client: Client, found: Sequence[CaseRecord], rpc_timeout: timedelta
) -> list[ReplayCaseResult]:
    """One result per case of ``found``, in that order."""
    fetched = await _fetch_all(client, found, rpc_timeout)
    replayed = await replay_histories(
        [f.history for f in fetched if f.history is not None], client.data_converter
    )
    failures = {history.workflow_id: failure for history, failure in replayed}
    outcomes = []
    for item in fetched:
        case = item.case
        if item.history is None:
            outcomes.append(
                ReplayCaseResult(
                    case_id=case.case_id,
                    workflow_id=case.workflow_id,
                    ok=False,
                    error=item.error,
                    error_type=item.error_type,
                )
            )
            continue
        failure = failures.get(case.workflow_id, RuntimeError("the replayer gave no result"))
        outcomes.append(
            ReplayCaseResult(
                case_id=case.case_id,
                workflow_id=case.workflow_id,
                run_id=_run_id(item.history),
                events=len(item.history.events),
                ok=failure is None,
                error=None if failure is None else str(failure),
                error_type=None if failure is None else type(failure).__name__,
            )
        )
    return outcomes


def not_found(case_id: str) -> ReplayCaseResult:
    """The result for an id that is no case of the caller's tenant."""
    return ReplayCaseResult(
        case_id=case_id, ok=False, error=f"no case {case_id}", error_type="not_found"
    )


def totals(results: Sequence[ReplayCaseResult]) -> ReplayTotals:
    ok = sum(1 for r in results if r.ok)
    replayed = sum(1 for r in results if r.events is not None)
    return ReplayTotals(requested=len(results), replayed=replayed, ok=ok, failed=len(results) - ok)
