"""A case's formal notice posted through the sandbox provider, presented, and the deadline
started from the presentation: real workflow and worker on the Temporal dev server, real
PostgreSQL, the sandbox calling the webhook over HTTP."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channel_activities import ChannelActivities
from activities.event_activities import EventActivities
from activities.registered_mail.maileva_client import MailevaClient, local_day, parse_instant
from eventstore.store import EventStore
from sandboxes import SandboxHandle
from schemas.case import CaseView
from schemas.policy import Channel, Policy, PolicyStep, StepKind
from services.audit.case_records import ProofRecord, case_proofs
from services.worker import channel_activities
from storage.tables import registered_letters
from tests.registered_mail.conftest import eventually
from tests.support.cases import CaseRig
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner

POLICY = Policy(
    id="lrar-e2e",
    version=1,
    title="Formal notice one second after the start, deadline 60 s from presentation",
    debtor_kinds=[],
    min_gap=timedelta(seconds=1),
    # Long enough that, on a loaded machine, the escalation is still ahead when the test
    # reads the case (the deadline's start is what is checked, not the escalation).
    formal_notice_deadline=timedelta(seconds=60),
    steps=[
        PolicyStep(
            key="formal_notice",
            label="Mise en demeure (LRAR)",
            kind=StepKind.formal_notice,
            channel=Channel.registered_letter,
            template="formal_notice@1",
            anchor="case_start",
            offset=timedelta(seconds=1),
        ),
        PolicyStep(
            key="escalation",
            label="Escalade",
            kind=StepKind.escalation,
            channel=Channel.handoff,
            template="handoff_small_claims@1",
            anchor="formal_notice_deadline",
            offset=timedelta(seconds=2),
        ),
    ],
)


async def test_the_presentation_reported_by_the_provider_starts_the_formal_notice_deadline(
    engine: AsyncEngine,
    dev_env: WorkflowEnvironment,
    sandbox: SandboxHandle,
    mail_client: MailevaClient,
    webhook_url: str,
) -> None:
    sandbox.set_webhook_url(webhook_url)
    rig = CaseRig(dev_env.client, f"lrar-{uuid.uuid4().hex[:8]}")
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
            handle = await rig.start(datetime.now(UTC), policy=POLICY)

            async def state() -> CaseView:
                view: CaseView = await handle.query("state", result_type=CaseView)
                return view

            def presented(view: CaseView) -> bool:
                notice = view.formal_notice
                return notice is not None and notice.first_presented_on is not None

            case = await eventually(state, presented, within=30)
        finally:
            await rig.close()

    notice = case.formal_notice
    assert notice is not None and notice.first_presented_on is not None
    async with engine.connect() as conn:
        letter = (
            await conn.execute(
                select(registered_letters).where(registered_letters.c.case_id == case.case_id)
            )
        ).one()
    assert notice.letter_reference == letter.provider_id, "the case shows the provider's id"
    assert letter.workflow_id == handle.id
    presentation = next(h for h in letter.status_history if h["status"] == "presented")
    assert presentation["signalled"] is True
    assert notice.first_presented_on.isoformat() == presentation["on"]
    assert notice.first_presented_on == local_day(parse_instant(presentation["at"]))
    assert ("presented", notice.first_presented_on) in notice.statuses
    entry = next(j for j in case.journal if j.type == "RegisteredLetterStatus")
    assert entry.by == "registered-mail:maileva"

    assert notice.escalate_from is not None, "the deadline runs from the presentation"
    planned = case.next_action
    assert planned is not None and planned.step == "escalation"
    assert planned.planned_at == notice.escalate_from + timedelta(seconds=2)
    sent_at = notice.sent_at
    assert sent_at + timedelta(seconds=60) < notice.escalate_from
    assert notice.escalate_from <= sent_at + timedelta(seconds=90)

    async def delivered() -> set[str]:
        # The sandbox marks a notification delivered once recouvre's webhook answered,
        # which is just after the webhook signalled the case: poll, on a loaded machine.
        async with httpx.AsyncClient() as http:
            log = (await http.get(f"{sandbox.url}/_sandbox/notifications")).json()
        return {
            n["body"]["event_type"]
            for n in log["notifications"]
            if n["delivered"] and n["body"]["resource_custom_data"] == letter.idempotency_key
        }

    await eventually(delivered, lambda kinds: "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION" in kinds)

    async def proofs() -> list[ProofRecord]:
        return await case_proofs(engine, case.case_id)

    stored = await eventually(proofs, lambda found: len(found) >= 1, within=30)
    assert all(p.sha256 == hashlib.sha256(p.content).hexdigest() for p in stored)
    assert all(p.content.startswith(b"%PDF") for p in stored), "proofs go to the dossier as PDFs"
