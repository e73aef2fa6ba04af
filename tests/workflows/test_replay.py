"""Every checked-in history replays against the current workflow code (determinism guard)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from schemas.case import CaseStart, CaseView
from tests.support.histories import HISTORIES
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_checked_in() -> None:
    names = {p.stem for p in HISTORY_FILES}
    generations = {
        "policy v1, before the legal timeline": "collection_case_b2b_partial_then_paid",
        "policy v2, before the event store": "collection_case_v2_b2b_two_years_paid",
        "event store, receipts and bounces": "collection_case_v3_b2b_two_years_paid",
    }
    for generation, name in generations.items():
        assert name in names, (
            f"keep a history of {generation}; record with RECOUVRE_RECORD_HISTORIES=1"
        )


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[CollectionCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="CollectionCase")
class CollectionCaseWithoutReminders:
    """A careless change: waits but never sends. Replaying old histories must catch it."""

    @workflow.run
    async def run(self, start: CaseStart) -> CaseView:
        await workflow.sleep(timedelta(days=3650))
        return CaseView.opened(start)


async def test_a_changed_workflow_fails_replay_with_a_clear_report() -> None:
    replayer = Replayer(
        workflows=[CollectionCaseWithoutReminders],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    path = HISTORIES / "collection_case_demo_paid.json"
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()
