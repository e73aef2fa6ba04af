"""Start case workflows directly (without the API), for workflow-level tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.channel_activities import ChannelActivities
from activities.email_activities import EmailActivities, SmtpSettings
from activities.event_activities import EventActivities
from eventstore.store import EventStore
from legal import load_rate_table
from policies.catalog import resolve_policy
from schemas.case import CaseStart, CaseView
from schemas.invoice import InvoiceIn
from schemas.policy import Policy
from services.worker import channel_activities
from tests.support.invoices import invoice_payload
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner


def smtp_settings(host: str, port: int) -> SmtpSettings:
    return SmtpSettings(
        host=host,
        port=port,
        sender="recouvrement@creancier.example",
        creditor_name="Créancier Test SAS",
        payment_instructions="par virement sur l'IBAN FR76 0000",
        payment_link="https://paiement.creancier.example/{invoice_number}?montant={amount}",
    )


@dataclass
class CaseRig:
    """A worker's task queue and the cases started on it (terminated when the rig closes,
    so their far-off prescription timers cannot stall later time-skipping tests)."""

    client: Client
    task_queue: str
    handles: list[WorkflowHandle[CollectionCaseWorkflow, CaseView]] = field(default_factory=list)

    async def start(
        self,
        opened_at: datetime,
        policy: Policy | None = None,
        activity_timeout_s: int = 60,
        continue_as_new_after: int | None = None,
        **invoice: Any,
    ) -> WorkflowHandle[CollectionCaseWorkflow, CaseView]:
        """Start a case for a fresh invoice (fields overridable), default or given policy."""
        parsed = InvoiceIn.model_validate(invoice_payload(**invoice))
        chosen = policy or resolve_policy(parsed.policy, parsed.debtor.kind)
        case_id = f"case-{uuid.uuid4().hex[:12]}"
        start = CaseStart(
            case_id=case_id,
            tenant="test",
            invoice=parsed,
            policy=chosen,
            opened_at=opened_at,
            rates=load_rate_table(),
            creditor_name="Créancier Test SAS",
            payment_instructions="par virement sur l'IBAN FR76 0000",
            activity_timeout_s=activity_timeout_s,
            continue_as_new_after=continue_as_new_after,
        )
        handle = await self.client.start_workflow(
            CollectionCaseWorkflow.run, start, id=f"wf-{case_id}", task_queue=self.task_queue
        )
        self.handles.append(handle)
        return handle

    async def close(self) -> None:
        for handle in self.handles:
            with contextlib.suppress(Exception):  # already finished
                await handle.terminate("test over")


@contextlib.asynccontextmanager
async def case_worker(
    client: Client, engine: AsyncEngine, smtp: SmtpSettings, task_queue: str | None = None
) -> AsyncIterator[CaseRig]:
    """A worker with the real workflow and activities on its own (or the given) task queue."""
    rig = CaseRig(client, task_queue or f"test-{uuid.uuid4().hex[:8]}")
    email = EmailActivities(smtp, engine)
    channels = ChannelActivities(engine)
    async with Worker(
        client,
        task_queue=rig.task_queue,
        workflows=[CollectionCaseWorkflow],
        activities=[
            email.send_email,
            *channel_activities(channels),
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
    ):
        try:
            yield rig
        finally:
            await rig.close()
