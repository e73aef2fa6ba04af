"""1,000 concurrent POST /v1/invoices of 50 distinct invoices (20 copies each, interleaved,
50 connections to 127.0.0.1): exactly 50 cases and 50 workflows; every answer is 201/200,
or 503 with nothing recorded; none is 500."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.api.case_ids import workflow_id_for
from storage.tables import cases
from tests.conftest import Smtp
from tests.faults.figures import report
from tests.support.invoices import invoice_payload
from tests.support.processes import eventually
from tests.support.service import KEYS, make_settings
from tests.support.serving import serve

INVOICES = 50
COPIES = 20
CONNECTIONS = 50


async def test_a_thousand_concurrent_posts_of_fifty_invoices_make_fifty_cases(
    database_url: str, engine: AsyncEngine, smtp: Smtp, dev_env: WorkflowEnvironment
) -> None:
    began = time.monotonic()
    target = dev_env.client.service_client.config.target_host
    settings = make_settings(database_url, target, smtp)  # its own task queue, no worker
    prefix = f"F-RUSH-{uuid.uuid4().hex[:6]}"
    bodies = [invoice_payload(invoice_number=f"{prefix}-{n:02d}") for n in range(INVOICES)]
    requests = [bodies[i % INVOICES] for i in range(INVOICES * COPIES)]  # interleaved
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    headers = {"Authorization": f"Bearer {KEYS['erp']}"}
    case_ids: dict[str, set[str]] = {}
    async with (
        serve(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as erp,
    ):
        gate = asyncio.Semaphore(CONNECTIONS)

        async def post(body: dict[str, object]) -> int:
            async with gate:
                answer = await erp.post("/v1/invoices", json=body)
            if answer.status_code in (200, 201):
                case_ids.setdefault(str(body["invoice_number"]), set()).add(
                    answer.json()["case_id"]
                )
            return answer.status_code

        rushed = time.monotonic()
        statuses = Counter(await asyncio.gather(*(post(body) for body in requests)))
        rush_s = time.monotonic() - rushed

    numbers = [str(body["invoice_number"]) for body in bodies]
    async with engine.connect() as conn:
        rows = int(
            await conn.scalar(
                select(func.count()).select_from(cases).where(cases.c.invoice_number.in_(numbers))
            )
            or 0
        )
    client = dev_env.client
    handles = [client.get_workflow_handle(workflow_id_for("acme", n)) for n in numbers]
    described = [await handle.describe() for handle in handles]
    query = f"TaskQueue = '{settings.task_queue}'"

    async def listed() -> int:
        return len([w async for w in client.list_workflows(query)])

    in_visibility = await eventually(listed, lambda n: n >= INVOICES, within_s=20)
    for handle in handles:  # no worker ever runs them
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")

    report(
        "concurrent-intake",
        requests=len(requests),
        invoices=INVOICES,
        statuses=dict(sorted(statuses.items())),
        cases=rows,
        workflows=in_visibility,
        duplicates=rows - INVOICES + in_visibility - INVOICES,
        rush_s=f"{rush_s:.1f}",
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[201] == INVOICES, "one creation per invoice"
    assert rows == INVOICES
    assert in_visibility == INVOICES
    assert len({d.run_id for d in described}) == INVOICES
    assert all(len(ids) == 1 for ids in case_ids.values()), "one case id per invoice"
    assert len(case_ids) == INVOICES
