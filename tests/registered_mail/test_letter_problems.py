"""A formal notice the provider rejects is never counted as served: the case goes back to
its formal-notice step, blocked, with an operator task saying why; the operator's retry
posts a new letter (a new sending under a new key), never the rejected one again. Real
workflow and worker on the Temporal dev server, real PostgreSQL, the sandbox provider
rejecting the sending and calling the webhook over HTTP."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channel_activities import ChannelActivities
from activities.event_activities import EventActivities
from activities.registered_mail.maileva_client import MailevaClient
from eventstore.store import EventStore
from sandboxes import SandboxHandle
from schemas.case import CaseView, HoldKind
from schemas.case_events import CaseEventEnvelope, RetryStep
from services.api.app import create_app
from services.config import Settings
from services.worker import channel_activities
from storage.tables import channel_outbox, registered_letters
from tests.registered_mail.conftest import eventually
from tests.registered_mail.test_end_to_end import POLICY
from tests.support.cases import CaseRig
from tests.support.invoices import invoice_payload
from tests.support.serving import serve
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner


def _rejected_debtor() -> dict[str, Any]:
    """A debtor whose name ends in REJET: the sandbox rejects every sending to it."""
    debtor = copy.deepcopy(invoice_payload()["debtor"])
    debtor["name"] = "Société Cliente REJET"
    return debtor


async def _letters(engine: AsyncEngine, case_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(registered_letters)
                .where(registered_letters.c.case_id == case_id)
                .order_by(registered_letters.c.created_at)
            )
        )


async def _tasks(engine: AsyncEngine, case_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(channel_outbox)
                .where(
                    channel_outbox.c.case_id == case_id,
                    channel_outbox.c.template == "letter_problem@1",
                )
                .order_by(channel_outbox.c.created_at)
            )
        )


async def test_a_rejected_formal_notice_blocks_its_step_with_a_task_and_the_retry_is_a_new_letter(
    engine: AsyncEngine,
    dev_env: WorkflowEnvironment,
    sandbox: SandboxHandle,
    mail_client: MailevaClient,
    webhook_url: str,
) -> None:
    sandbox.set_webhook_url(webhook_url)
    rig = CaseRig(dev_env.client, f"lrar-rej-{uuid.uuid4().hex[:8]}")
    channels = ChannelActivities(engine, registered_mail=mail_client)
    async with Worker(
        dev_env.client,
        task_queue=rig.task_queue,
        workflows=[CollectionCaseWorkflow],
        activities=[
            *channel_activities(channels),
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
    ):
        try:
            handle = await rig.start(datetime.now(UTC), policy=POLICY, debtor=_rejected_debtor())

            async def state() -> CaseView:
                view: CaseView = await handle.query("state", result_type=CaseView)
                return view

            def blocked(view: CaseView) -> bool:
                return any(h.kind is HoldKind.blocked for h in view.holds)

            first = await eventually(state, blocked, within=30)
            first_tasks = await eventually(
                lambda: _tasks(engine, first.case_id), lambda rows: len(rows) == 1, within=20
            )
            await handle.signal(
                "record_event",
                CaseEventEnvelope(event=RetryStep(step="formal_notice", note="adresse vérifiée")),
            )

            def blocked_again(view: CaseView) -> bool:
                return blocked(view) and len(view.letter_problems) == 2

            second = await eventually(state, blocked_again, within=30)
            tasks = await eventually(
                lambda: _tasks(engine, first.case_id), lambda rows: len(rows) == 2, within=20
            )
        finally:
            await rig.close()

    notice = first.formal_notice
    assert notice is not None and notice.undelivered == "rejected"
    assert notice.first_presented_on is None, "a rejected letter was never presented"
    assert first.steps_done == 0, "the case is back at its formal-notice step"
    assert first.stage.value == "amicable"
    [hold] = [h for h in first.holds if h.kind is HoldKind.blocked]
    assert hold.ref == "formal_notice" and "rejected" in hold.reason
    types = [entry.type for entry in first.journal]
    assert types.index("FormalNoticeSent") < types.index("RegisteredLetterProblem")
    assert types.index("RegisteredLetterProblem") < types.index("StepFailed")
    assert "le prestataire a rejeté" in first_tasks[0].body
    assert f"/v1/cases/{first.case_id}/steps/formal_notice/retry" in first_tasks[0].body

    letters = await _letters(engine, first.case_id)
    assert [row.status for row in letters] == ["rejected", "rejected"]
    keys = [row.idempotency_key for row in letters]
    assert keys == [
        f"{first.case_id}/formal_notice/registered_letter",
        f"{first.case_id}/formal_notice/registered_letter/2",
    ], "the retry is a new letter under a new key"
    assert len({row.provider_id for row in letters}) == 2, "two sendings at the provider"
    assert [p.letter_reference for p in second.letter_problems] == [r.provider_id for r in letters]
    assert second.formal_notice is not None
    assert second.formal_notice.letter_reference == letters[1].provider_id
    assert len(tasks) == 2, "one task per undelivered letter"


async def test_a_rejection_whose_notification_was_lost_reaches_the_case_by_polling(
    engine: AsyncEngine,
    database_url: str,
    dev_env: WorkflowEnvironment,
    sandbox: SandboxHandle,
    mail_client: MailevaClient,
) -> None:
    """No webhook at all (every notification lost): the API's poll finds the rejection."""
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_RPC_TIMEOUT_S=3.0,
        RECOUVRE_API_KEYS="operator-key-registered-mail-0123=operator:acme",
    )
    polled = sandbox.settings().model_copy(update={"poll_s": 0.3, "webhook_url": ""})
    rig = CaseRig(dev_env.client, f"lrar-poll-{uuid.uuid4().hex[:8]}")
    channels = ChannelActivities(engine, registered_mail=mail_client)
    async with (
        serve(create_app(settings, registered_mail=polled)),
        Worker(
            dev_env.client,
            task_queue=rig.task_queue,
            workflows=[CollectionCaseWorkflow],
            activities=[
                *channel_activities(channels),
                *EventActivities(EventStore(engine), engine).activities(),
            ],
            workflow_runner=workflow_runner(),
        ),
    ):
        try:
            handle = await rig.start(datetime.now(UTC), policy=POLICY, debtor=_rejected_debtor())

            async def state() -> CaseView:
                view: CaseView = await handle.query("state", result_type=CaseView)
                return view

            case = await eventually(state, lambda view: bool(view.letter_problems), within=30)
            tasks = await eventually(
                lambda: _tasks(engine, case.case_id), lambda rows: len(rows) == 1, within=20
            )
        finally:
            await rig.close()
    [problem] = case.letter_problems
    assert problem.final and problem.anomaly == "rejected"
    assert [h.ref for h in case.holds if h.kind is HoldKind.blocked] == ["formal_notice"]
    [letter] = await _letters(engine, case.case_id)
    history = [entry["status"] for entry in letter.status_history]
    assert "rejected" in history and letter.status == "rejected"
    assert tasks[0].template == "letter_problem@1"
