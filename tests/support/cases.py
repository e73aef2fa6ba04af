"""Start case workflows directly (without the API), for workflow-level tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.email_activities import EmailActivities, SmtpSettings
from policies.catalog import resolve_policy
from schemas.case import CaseStart, CaseView
from schemas.invoice import InvoiceIn
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
    )


@contextlib.asynccontextmanager
async def case_worker(
    client: Client, engine: AsyncEngine, smtp: SmtpSettings
) -> AsyncIterator[str]:
    """A worker with the real workflow and email activity on its own task queue."""
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    email = EmailActivities(smtp, engine)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[CollectionCaseWorkflow],
        activities=[email.send_email],
        workflow_runner=workflow_runner(),
    ):
        yield task_queue


async def start_case(
    client: Client, task_queue: str, opened_at: datetime, **invoice: Any
) -> WorkflowHandle[CollectionCaseWorkflow, CaseView]:
    """Start a case for a fresh invoice (fields overridable) with its default or given policy."""
    parsed = InvoiceIn.model_validate(invoice_payload(**invoice))
    policy = resolve_policy(parsed.policy, parsed.debtor.kind)
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    start = CaseStart(
        case_id=case_id, tenant="test", invoice=parsed, policy=policy, opened_at=opened_at
    )
    return await client.start_workflow(
        CollectionCaseWorkflow.run, start, id=f"wf-{case_id}", task_queue=task_queue
    )
