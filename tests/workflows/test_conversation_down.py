"""Nothing a debtor's conversation fails to do may stall a case: when the conversation
never answers (here one that takes the request and says nothing, as a bug would), the case
waits out the longest the conversation could take, then sends its reminder alone, under
its own key (time skipping, real activities, real SMTP)."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.conversation_activities import request_contact
from activities.conversation_requests import ContactRequest, ConversationStart
from activities.email_activities import EmailActivities
from activities.event_activities import EventActivities
from eventstore.store import EventStore
from legal import load_rate_table
from policies.catalog import resolve_policy
from schemas.case import CaseStart
from schemas.debtor import CaseInvoice
from schemas.invoice import InvoiceIn
from storage.debtor_vault import DebtorVault
from storage.key_ring import KeyRing
from storage.tables import deliveries
from tests.conftest import Smtp
from tests.support.cases import smtp_settings
from tests.support.invoices import invoice_payload
from tests.support.mailbox import messages_for_case
from tests.workflows.timeline_support import at_8, days, sleep_until, today, working
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner


@workflow.defn(name="DebtorConversation", sandboxed=False)
class SilentConversation:
    """Takes every request, sends nothing, answers nothing."""

    @workflow.signal(name="contact_due")
    def contact_due(self, request: ContactRequest) -> None:
        del request

    @workflow.run
    async def run(self, start: ConversationStart) -> None:
        del start
        await workflow.wait_condition(lambda: False)


async def test_a_case_sends_its_reminder_alone_when_its_conversation_never_runs(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    vault = DebtorVault(KeyRing.parse(KeyRing.new_entry("t1"), setting="T"), os.urandom(32))
    due = await today(ts_env) + days(1)
    invoice = InvoiceIn.model_validate(
        invoice_payload(issue_date=(due - days(30)).isoformat(), due_date=due.isoformat())
    )
    async with engine.begin() as conn:
        ref = await vault.register(conn, "test", invoice.debtor)
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    start = CaseStart(
        case_id=case_id,
        tenant="test",
        invoice=CaseInvoice.of(invoice, ref),
        policy=resolve_policy(None, invoice.debtor.kind),
        opened_at=await ts_env.get_current_time(),
        rates=load_rate_table(),
    )
    email = EmailActivities(smtp_settings(smtp.host, smtp.port), engine, vault)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[CollectionCaseWorkflow, SilentConversation],
        activities=[
            email.send_email,
            request_contact,
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
    ):
        handle = await ts_env.client.start_workflow(
            CollectionCaseWorkflow.run, start, id=f"wf-{case_id}", task_queue=queue
        )
        conversation = ts_env.client.get_workflow_handle(f"debtor-test-{ref.debtor_id}")
        try:
            # reminder 1 at due + 10 days; then the conversation's longest: window, the
            # longest cap (30 days), 4 days of hours, the attempts and the margin.
            await sleep_until(ts_env, at_8(working(due + days(10))) + days(36))
            case = await handle.query(CollectionCaseWorkflow.state)
        finally:
            await handle.terminate("test over")
            await conversation.terminate("test over")
    [reminder] = [a for a in case.actions if a.step == "reminder_1"]
    assert reminder.status == "sent", reminder
    assert reminder.recipient == f"debtor:{ref.debtor_id}", "the case names the debtor by id"
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.status).where(
                    deliveries.c.idempotency_key == f"{case_id}/reminder_1"
                )
            )
        ).scalars()
        assert list(rows) == ["sent"], "one ledger row, under the invoice's own key"
    [mail] = messages_for_case(smtp.maildir, case_id)
    assert mail["To"] == str(invoice.debtor.email), "the activity opened the vault"
