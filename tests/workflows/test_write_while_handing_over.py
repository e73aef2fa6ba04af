"""A write that reaches a case while it hands its reminder to the debtor's conversation is
in the read model as soon as the hand-over ends, not once the conversation answers (found
in CI: a partial payment posted at that moment stayed unread for the whole grouping
window). The hand-over is held open by a gate around the real request_contact activity, so
the payment lands inside it every time (time skipping, real activities, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.conversation_activities import request_contact
from activities.conversation_requests import ContactRequest, ConversationStart
from activities.email_activities import EmailActivities
from activities.event_activities import EventActivities
from eventstore.store import EventStore
from legal import load_rate_table
from policies.catalog import resolve_policy
from projections.case_view_store import load_case_view
from schemas.case import CaseStart, PaymentIn
from schemas.debtor import CaseInvoice
from schemas.invoice import InvoiceIn
from storage.debtor_vault import DebtorVault
from storage.key_ring import KeyRing
from tests.conftest import Smtp
from tests.support.cases import smtp_settings
from tests.support.histories import record_history
from tests.support.invoices import invoice_payload
from tests.workflows.test_conversation_down import SilentConversation
from tests.workflows.timeline_support import at_8, days, sleep_until, today, working
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner


async def test_a_payment_during_the_hand_over_is_published_without_waiting_for_the_answer(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    vault = DebtorVault(KeyRing.parse(KeyRing.new_entry("t1"), setting="T"), os.urandom(32))
    due = await today(ts_env) + days(1)
    invoice = InvoiceIn.model_validate(
        invoice_payload(
            amount_due="900.00", issue_date=(due - days(30)).isoformat(), due_date=due.isoformat()
        )
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
    handing_over, release = asyncio.Event(), asyncio.Event()

    @activity.defn(name="request_contact")
    async def gated_request_contact(start: ConversationStart, contact: ContactRequest) -> str:
        handing_over.set()
        await release.wait()
        return await request_contact(start, contact)

    email = EmailActivities(smtp_settings(smtp.host, smtp.port), engine, vault)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[CollectionCaseWorkflow, SilentConversation],
        activities=[
            email.send_email,
            gated_request_contact,
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
    ):
        handle = await ts_env.client.start_workflow(
            CollectionCaseWorkflow.run, start, id=f"wf-{case_id}", task_queue=queue
        )
        conversation = ts_env.client.get_workflow_handle(f"debtor-test-{ref.debtor_id}")
        try:
            # Skip to reminder 1; the test server stops skipping once the activity runs.
            skipping = asyncio.create_task(
                sleep_until(ts_env, at_8(working(due + days(10))) + days(1))
            )
            await asyncio.wait_for(handing_over.wait(), timeout=30)
            skipping.cancel()
            payment = PaymentIn.model_validate(
                {"amount": "300.00", "paid_on": due.isoformat(), "reference": "VIR-HAND-1"}
            )
            await handle.signal("record_payment", payment)
            await asyncio.sleep(0.5)  # the signal is in history while the activity runs
            release.set()
            published = None
            for _ in range(150):  # real time: the conversation never answers
                async with engine.connect() as conn:
                    published = await load_case_view(conn, "test", case_id)
                if published is not None and published.view.balance == Decimal("600.00"):
                    break
                await asyncio.sleep(0.1)
            await record_history(handle, "collection_case_v8_payment_while_handing_over")
        finally:
            await handle.terminate("test over")
            await conversation.terminate("test over")
    assert published is not None
    assert published.view.balance == Decimal("600.00"), (
        "the payment made during the hand-over is read before the conversation answers"
    )
    assert [p.reference for p in published.view.payments] == ["VIR-HAND-1"]
