"""A case whose formal notice asks for approval at once, for the tests of approvals (API
and console): the demo policy's formal notice one second after the case opens, with
``requires_approval``, started on the service's worker and registered in ``cases`` and
the read model as intake does (the API only offers the catalog's policies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from legal import load_rate_table
from policies.catalog import load_catalog
from projections.case_view_store import save_case_view
from schemas.case import CaseStart, CaseView
from schemas.invoice import InvoiceIn
from schemas.policy import Policy
from services.api.case_ids import case_id_for, workflow_id_for
from storage.tables import cases
from tests.support.invoices import invoice_payload
from tests.support.service import Service
from workflows.collection_case import CollectionCaseWorkflow


def asking_policy() -> Policy:
    demo = load_catalog()["demo"]
    notice = next(s for s in demo.steps if s.key == "formal_notice")
    step = notice.model_copy(update={"offset": timedelta(seconds=1), "requires_approval": True})
    return demo.model_copy(update={"id": "demo-approval", "version": 1, "steps": [step]})


async def start_asking_case(
    service: Service, engine: AsyncEngine, tenant: str, **invoice: Any
) -> str:
    """Register and start the case; its id (it asks for approval about a second later)."""
    registered = InvoiceIn.model_validate(invoice_payload(**invoice))
    policy = asking_policy()
    case_id = case_id_for(tenant, registered.invoice_number)
    workflow_id = workflow_id_for(tenant, registered.invoice_number)
    start = CaseStart(
        case_id=case_id,
        tenant=tenant,
        invoice=registered,
        policy=policy,
        opened_at=datetime.now(UTC),
        rates=load_rate_table(),
    )
    async with engine.begin() as conn:
        await conn.execute(
            cases.insert().values(
                case_id=case_id,
                tenant=tenant,
                invoice_number=registered.invoice_number,
                workflow_id=workflow_id,
                content_hash=registered.content_hash(),
                policy_id=policy.id,
                policy_version=policy.version,
                invoice=registered.model_dump(mode="json"),
            )
        )
        await save_case_view(conn, CaseView.opened(start))
    await service.dev_env.client.start_workflow(
        CollectionCaseWorkflow.run, start, id=workflow_id, task_queue=service.settings.task_queue
    )
    return case_id
