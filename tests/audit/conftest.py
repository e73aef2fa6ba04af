"""The auditor's endpoints on the real service: Temporal dev server, worker, PostgreSQL.

The API is served here with the e2e settings plus an auditor key of another tenant, on the
same task queue as the e2e worker, so cases created here run the real workflow.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import CallOutcome, PhoneCallLogged
from eventstore.records import EventMetadata, NewEvent
from eventstore.store import EventStore
from services.api.app import create_app
from tests.support.invoices import invoice_payload
from tests.support.service import KEY_SPEC, KEYS, Service
from tests.support.serving import serve

AUDIT_KEYS = {**KEYS, "other_auditor": "auditor-key-other-0123456789"}


@dataclass(frozen=True)
class AuditApi:
    base_url: str

    def client(self, who: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {AUDIT_KEYS[who]}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


@dataclass(frozen=True)
class AuditedCase:
    case_id: str
    invoice_number: str
    workflow_id: str


@pytest.fixture(scope="session")
async def audit_api(service: Service) -> AsyncIterator[AuditApi]:
    spec = f"{KEY_SPEC},{AUDIT_KEYS['other_auditor']}=auditor:other"
    settings = service.settings.model_copy(update={"api_keys": spec})
    async with serve(create_app(settings)) as base_url:
        yield AuditApi(base_url)


async def open_case(api: AuditApi, **overrides: Any) -> AuditedCase:
    body = invoice_payload(policy="demo", **overrides)
    async with api.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
    assert created.status_code == 201, created.text
    return AuditedCase(
        created.json()["case_id"], body["invoice_number"], created.json()["workflow_id"]
    )


async def pay_in_full(api: AuditApi, case: AuditedCase, amount: str = "1200.00") -> None:
    async with api.client("erp") as erp:
        paid = await erp.post(
            f"/v1/cases/{case.case_id}/payments",
            json={"amount": amount, "paid_on": "2026-11-03", "reference": "VIR-AUDIT"},
        )
    assert paid.status_code == 200, paid.text
    assert paid.json()["stage"] == "closed"


async def wait_for_action(api: AuditApi, case: AuditedCase, within_s: float = 20.0) -> None:
    """Until the workflow recorded its first action (the demo policy's reminder 1, at 5 s)."""
    deadline = asyncio.get_running_loop().time() + within_s
    async with api.client("operator") as operator:
        while True:
            state = (await operator.get(f"/v1/cases/{case.case_id}")).json()
            if state["actions"]:
                return
            assert asyncio.get_running_loop().time() < deadline, f"no action yet: {state}"
            await asyncio.sleep(0.25)


async def wait_closed(service: Service, case: AuditedCase, within_s: float = 20.0) -> None:
    """Until the case's workflow has completed (so it appends nothing more)."""
    handle = service.dev_env.client.get_workflow_handle(case.workflow_id)
    async with asyncio.timeout(within_s):
        await handle.result()


async def append_calls(engine: AsyncEngine, case: AuditedCase) -> int:
    """Append two operator calls to the case's stream, directly through the EventStore
    (after whatever the workflow recorded); returns the version of the first."""
    store = EventStore(engine)
    version = await store.stream_version(case.case_id)
    meta = EventMetadata(tenant="acme", actor="operator@acme", workflow_id=case.workflow_id)
    calls = [
        PhoneCallLogged(
            called_at=datetime.now(UTC),
            operator="Camille Lefèvre",
            outcome=outcome,
            note=f"Appel {n} : le débiteur dit avoir réglé la facture {case.invoice_number}.",
        )
        for n, outcome in enumerate((CallOutcome.no_answer, CallOutcome.other), start=1)
    ]
    await store.append(
        case.case_id,
        [NewEvent.of(call, event_id=uuid.uuid4(), metadata=meta) for call in calls],
        expected_version=version,
    )
    return version + 1


@pytest.fixture(scope="session")
async def reminded_case(
    audit_api: AuditApi,
    service: Service,
    engine: AsyncEngine,
) -> AuditedCase:
    """A demo case reminded once by email, then paid in full, with two calls appended."""
    case = await open_case(audit_api)
    await wait_for_action(audit_api, case)
    await pay_in_full(audit_api, case)
    await wait_closed(service, case)
    await append_calls(engine, case)
    return case
