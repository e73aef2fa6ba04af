"""Every checked-in history replays against the current workflow code (determinism guard)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from schemas.case import CaseStart, CaseView
from tests.support.histories import HISTORIES
from workflows import case_activities, case_messages, case_steps, collection_case
from workflows.collection_case import CollectionCaseWorkflow
from workflows.debtor_conversation import DebtorConversationWorkflow
from workflows.sandbox import workflow_runner

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_checked_in() -> None:
    names = {p.stem for p in HISTORY_FILES}
    generations = {
        "policy v1, before the legal timeline": "collection_case_b2b_partial_then_paid",
        "updates, before the legal timeline": "collection_case_demo_paid",
        "policy v2, before the event store": "collection_case_v2_b2b_two_years_paid",
        "event store and receipts": "collection_case_v3_b2b_two_years_paid",
        "a bounce as a call task, before failed steps blocked": (
            "collection_case_v3_bounce_task_then_paid"
        ),
        "a bounce that blocks its step, then the operator's retry": (
            "collection_case_v4_bounce_blocked_retried"
        ),
        "a formal notice that failed, a migration and a retry": (
            "collection_case_v4_notice_blocked_migrated_retried"
        ),
        "updates refused before any change, then paid": (
            "collection_case_v4_updates_refused_then_paid"
        ),
        "continue-as-new: the run that continued": "collection_case_v4_continued_run1",
        "continue-as-new: the run that carried on": "collection_case_v4_continued_run2",
        "views published to the read model: a two-year B2B case": (
            "collection_case_v5_b2b_two_years_paid"
        ),
        "views published: a bounce that blocks, then the retry": (
            "collection_case_v5_bounce_blocked_retried"
        ),
        "views published: a notice that failed, a migration, a retry": (
            "collection_case_v5_notice_blocked_migrated_retried"
        ),
        "views published: updates refused, then paid": (
            "collection_case_v5_updates_refused_then_paid"
        ),
        "views published across continue-as-new (run 1)": "collection_case_v5_continued_run1",
        "views published across continue-as-new (run 2)": "collection_case_v5_continued_run2",
        "approvals: a formal notice and an escalation approved": (
            "collection_case_v6_approval_notice_and_escalation_approved"
        ),
        "approvals: a formal notice rejected, resumed, then approved": (
            "collection_case_v6_approval_rejected_resumed_approved"
        ),
        "debtor accounts: reminders grouped by the debtor's conversation": (
            "collection_case_v7_grouped_reminders"
        ),
        "debtor accounts: grouped, then disputed (held alone)": (
            "collection_case_v7_grouped_then_disputed"
        ),
        "a claim prescribed before its first step: closed, nothing sent": (
            "collection_case_v7_prescribed_before_any_step"
        ),
        "the debtor's conversation: two grouped messages": ("debtor_conversation_v1_grouped_twice"),
        "a payment while the reminder is handed over, published at once": (
            "collection_case_v8_payment_while_handing_over"
        ),
        "a public debtor's quadriennale, restarted by the formal notice": (
            "collection_case_v8_public_quadriennale"
        ),
        "debtor accounts: one statement and one formal notice for three invoices": (
            "collection_case_v8_grouped_letters"
        ),
        "the debtor's conversation: grouped emails, then grouped letters": (
            "debtor_conversation_v2_grouped_letters"
        ),
        "a provider's rejection reported before the notice was recorded": (
            "collection_case_v8_early_letter_report"
        ),
    }
    for generation, name in generations.items():
        assert name in names, (
            f"keep a history of {generation}; record the missing ones with "
            "RECOUVRE_RECORD_HISTORIES=1 (existing files are never rewritten)"
        )


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[CollectionCaseWorkflow, DebtorConversationWorkflow],
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


def _patch_ids(path: Path) -> set[str]:
    """The `workflow.patched` markers a recorded history holds."""
    ids = set()
    for event in json.loads(path.read_text())["events"]:
        if event["eventType"] == "EVENT_TYPE_MARKER_RECORDED":
            data = event["markerRecordedEventAttributes"]["details"]["patch-data"]
            ids.add(json.loads(base64.b64decode(data["payloads"][0]["data"]))["id"])
    return ids


def test_every_patch_marker_in_the_code_has_a_recorded_history() -> None:
    """A patch without a history that took its new branch is not guarded (docs: retiring a
    patch, docs/workflow-versioning.md)."""
    recorded = set().union(*(_patch_ids(path) for path in HISTORY_FILES))
    in_code = {
        collection_case.LEGAL_TIMELINE_PATCH,
        collection_case.EVENT_STORE_PATCH,
        case_steps.RECEIPT_PATCH,
        case_steps.BOUNCE_PATCH,
        case_steps.STEP_FAILURE_PATCH,
        case_steps.APPROVAL_PATCH,
        case_steps.CONVERSATION_PATCH,
        case_steps.PRESCRIBED_FIRST_PATCH,
        case_activities.CONTACT_WAIT_PATCH,
        collection_case.QUADRIENNALE_PATCH,
        collection_case.AFTER_TITLE_PATCH,
        case_steps.GROUPED_LETTERS_PATCH,
        case_messages.EARLY_LETTER_PATCH,
    }
    assert in_code <= recorded, f"no history records {sorted(in_code - recorded)}"
