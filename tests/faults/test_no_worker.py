"""The API with no worker on its task queue: reads and updates answer 503 within the
configured TEMPORAL_RPC_TIMEOUT_S, never 500; once a worker starts, the case works.

Temporal keeps an update it admitted: the payment that timed out is applied when the
worker comes, so the ERP's retry (same reference, same amount) must change nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.worker import running_worker
from tests.conftest import Smtp
from tests.faults.api import api_client, closed, wait_for_case
from tests.faults.figures import count_cases, report
from tests.support.invoices import invoice_payload
from tests.support.service import make_settings
from tests.support.serving import serve

RPC_TIMEOUT_S = 2.0
BOUND_S = RPC_TIMEOUT_S + 1.5  # the API's own margin over the RPC deadline is 1 s
PAYMENT = {"amount": "1200.00", "paid_on": "2026-11-02", "reference": "VIR-NOWORKER"}


async def _timed(request: Awaitable[httpx.Response]) -> tuple[int, float, str]:
    began = time.monotonic()
    answer = await request
    return answer.status_code, time.monotonic() - began, answer.text


def _reason(body: str) -> str:
    """The 503's ``details.reason`` (no_worker, timeout, ...), if it gives one."""
    try:
        details = json.loads(body)["error"].get("details") or {}
    except (ValueError, KeyError, AttributeError):
        return "?"
    return str(details.get("reason", "?")) if isinstance(details, dict) else "?"


async def test_no_worker_updates_answer_503_in_time_then_the_case_works(
    database_url: str, engine: AsyncEngine, smtp: Smtp, dev_env: WorkflowEnvironment
) -> None:
    began = time.monotonic()
    target = dev_env.client.service_client.config.target_host
    settings = make_settings(database_url, target, smtp).model_copy(
        update={"temporal_rpc_timeout_s": RPC_TIMEOUT_S}
    )
    async with (
        serve(create_app(settings)) as base_url,
        api_client(base_url, "erp") as erp,
        api_client(base_url, "operator") as operator,
    ):
        opened = await erp.post("/v1/invoices", json=invoice_payload(policy="demo"))
        assert opened.status_code == 201, opened.text  # a start needs no worker
        case_id = opened.json()["case_id"]
        payment = await _timed(erp.post(f"/v1/cases/{case_id}/payments", json=PAYMENT))
        read = await _timed(operator.get(f"/v1/cases/{case_id}", params={"consistency": "live"}))
        stored = await operator.get(f"/v1/cases/{case_id}")  # the read model needs no worker

        async with running_worker(dev_env.client, settings, engine, projector=False):
            before_retry = await wait_for_case(operator, case_id, lambda _: True)
            retried = await erp.post(f"/v1/cases/{case_id}/payments", json=PAYMENT)
            case = await wait_for_case(operator, case_id, closed, within_s=30)
    figures = await count_cases(engine, smtp.maildir, [case])

    report(
        "no-worker",
        cases=1,
        payment_without_worker=f"{payment[0]} in {payment[1]:.1f}s",
        live_read_without_worker=f"{read[0]} in {read[1]:.1f}s",
        read_model_without_worker=stored.status_code,
        rpc_timeout_s=RPC_TIMEOUT_S,
        payment_503_reason=_reason(payment[2]),
        timed_out_payment_applied_later=bool(before_retry.payments),
        retry_with_worker=retried.status_code,
        payments_applied=len(case.payments),
        actions=figures.actions,
        duplicates=figures.duplicates,
        lost_facts=figures.lost_facts,
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    for status, seconds, body in (payment, read):
        assert status == 503, body
        assert seconds <= BOUND_S, f"answered after {seconds:.1f} s"
    assert stored.status_code == 200, stored.text
    assert stored.json()["read"]["source"] == "read_model"
    assert retried.status_code == 200, retried.text
    assert case.outcome is not None and case.outcome.value == "paid"
    assert len(case.payments) == 1, "the timed-out payment and its retry count once"
    assert figures.duplicates == 0
    assert figures.lost_facts == 0
