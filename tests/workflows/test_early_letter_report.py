"""A provider's report on a registered letter that reaches the case before the case has
recorded the letter (the post rejected it while the posting activity was completing) is
kept and applied once the notice is recorded, not ignored: found in CI, where a fast
rejection was lost. The report is sent from inside the posting activity, so it always comes
first (real workflow on the Temporal dev server, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channel_activities import ChannelActivities
from activities.channel_requests import ChannelReceipt, ChannelRequest
from activities.event_activities import EventActivities
from eventstore.store import EventStore
from schemas.case import CaseView, HoldKind
from schemas.case_events import CaseEventEnvelope, RegisteredLetterProblem
from services.worker import channel_activities
from tests.registered_mail.conftest import eventually
from tests.registered_mail.test_end_to_end import POLICY
from tests.support.cases import CaseRig
from tests.support.histories import record_history
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner


async def test_a_rejection_reported_before_the_notice_is_recorded_is_applied(
    engine: AsyncEngine, dev_env: WorkflowEnvironment
) -> None:
    channels = ChannelActivities(engine)

    @activity.defn(name="send_registered_letter")
    async def posted_then_rejected_at_once(request: ChannelRequest) -> ChannelReceipt:
        receipt = await channels.send_registered_letter(request)
        rejected = RegisteredLetterProblem(
            anomaly="rejected",
            reason="le prestataire a rejeté l'envoi recommandé : il ne partira pas",
            letter_reference=receipt.reference,
            by="registered-mail:test",
        )
        handle = activity.client().get_workflow_handle(activity.info().workflow_id)
        await handle.signal("record_event", CaseEventEnvelope(event=rejected))
        await asyncio.sleep(0.5)  # the report is in history before the completion
        return receipt

    others = [a for a in channel_activities(channels) if a != channels.send_registered_letter]
    rig = CaseRig(dev_env.client, f"early-{uuid.uuid4().hex[:8]}")
    async with Worker(
        dev_env.client,
        task_queue=rig.task_queue,
        workflows=[CollectionCaseWorkflow],
        activities=[
            *others,
            posted_then_rejected_at_once,
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
    ):
        try:
            handle = await rig.start(datetime.now(UTC), policy=POLICY)

            async def state() -> CaseView:
                view: CaseView = await handle.query("state", result_type=CaseView)
                return view

            case = await eventually(state, lambda view: bool(view.letter_problems), within=30)
            await record_history(handle, "collection_case_v8_early_letter_report")
        finally:
            await rig.close()
    assert case.formal_notice is not None and case.formal_notice.undelivered == "rejected"
    assert [h.ref for h in case.holds if h.kind is HoldKind.blocked] == ["formal_notice"]
    types = [entry.type for entry in case.journal]
    assert "EventIgnored" not in types, "the early report was kept, not ignored"
    assert types.index("FormalNoticeSent") < types.index("RegisteredLetterProblem")
