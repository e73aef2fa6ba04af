"""What the fuzzer (test_api_fuzz.py) and its follow-up probes found that breaks a case
after the API accepted the input: in the workflow, or in a request model outside
schemas/bounds.py's reach. Each is a minimal reproduction over HTTP on the e2e stack,
kept so that each stays fixed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from tests.e2e.conftest import Service
from tests.support.histories import record_history
from tests.support.invoices import invoice_payload

pytestmark = pytest.mark.e2e


async def _failed_workflow_tasks(service: Service, workflow_id: str) -> list[str]:
    handle = service.dev_env.client.get_workflow_handle(workflow_id)
    failures = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures.append(event.workflow_task_failed_event_attributes.failure.message)
    return failures


async def _register(service: Service, **fields: Any) -> dict[str, Any]:
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", json=invoice_payload(**fields))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize(
    "fields",
    [
        # business: prescription 5 years after the due date (C. com. L110-4)
        {"issue_date": "2000-01-01", "due_date": "2000-01-31"},
        # consumer: 2 years (C. consom. L218-2)
        {
            "issue_date": "2023-01-01",
            "due_date": "2023-09-30",
            "debtor": {
                "kind": "consumer",
                "name": "Jeanne Martin",
                "email": "jeanne@martin.example",
                "address": {"line1": "3 rue Neuve", "postal_code": "69001", "city": "Lyon"},
            },
        },
    ],
    ids=["business-2000", "consumer-2023"],
)
async def test_an_invoice_already_prescribed_does_not_break_its_case(
    service: Service, fields: dict[str, Any]
) -> None:
    created = await _register(service, **fields)
    await asyncio.sleep(3)  # the first workflow task runs the prescription alert
    async with service.client("operator") as operator:
        read = await operator.get(f"/v1/cases/{created['case_id']}")
    failures = await _failed_workflow_tasks(service, created["workflow_id"])
    assert not failures, failures[-1]
    assert read.status_code == 200, read.text
    assert read.json()["outcome"] == "prescribed", "a lapsed claim closes at once"
    assert read.json()["actions"] == [], "nothing is sent for a lapsed claim"
    if fields.get("due_date", "").startswith("2000"):
        handle = service.dev_env.client.get_workflow_handle(created["workflow_id"])
        await record_history(handle, "collection_case_v7_prescribed_before_any_step")


async def test_a_payment_reference_with_a_nul_is_refused(service: Service) -> None:
    created = await _register(service)
    async with service.client("erp") as erp:
        response = await erp.post(
            f"/v1/cases/{created['case_id']}/payments",
            json={"amount": "1.00", "paid_on": "2026-11-02", "reference": "VIR\u0000123"},
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "reference"
