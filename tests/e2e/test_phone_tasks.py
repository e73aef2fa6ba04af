"""The call step becomes an operator task; its outcome drives the case."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload


async def _wait_for_task(operator: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    for _ in range(150):  # the demo policy plans the call 15 s after the case opens
        tasks = (await operator.get("/v1/tasks")).json()["tasks"]
        mine = [t for t in tasks if t["case_id"] == case_id]
        if mine:
            return mine[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no phone task appeared within 30 s")


async def test_call_task_lists_the_debtor_and_its_promise_pauses_the_case(
    service: Service,
) -> None:
    body = invoice_payload(policy="demo")
    body["debtor"]["phone"] = "+33 1 23 45 67 89"
    async with service.client("erp") as erp, service.client("operator") as operator:
        case_id = (await erp.post("/v1/invoices", json=body)).json()["case_id"]
        task = await _wait_for_task(operator, case_id)
        assert task["debtor_phone"] == "+33 1 23 45 67 89"
        assert task["invoice_number"] == body["invoice_number"]
        assert body["invoice_number"] in task["call_script"]

        promised_on = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        bad = await operator.post(
            f"/v1/tasks/{task['task_id']}/outcome", json={"outcome": "promise"}
        )
        done = await operator.post(
            f"/v1/tasks/{task['task_id']}/outcome",
            json={"outcome": "promise", "promised_on": promised_on},
        )
        again = await operator.post(
            f"/v1/tasks/{task['task_id']}/outcome", json={"outcome": "no_answer"}
        )
        remaining = (await operator.get("/v1/tasks")).json()["tasks"]
        as_erp = await erp.get("/v1/tasks")

    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "promised_on"
    assert done.status_code == 200, done.text
    case = done.json()
    assert [h["kind"] for h in case["holds"]] == ["promise"]
    assert "PhoneCallLogged" in [j["type"] for j in case["journal"]]
    assert again.status_code == 409, "an outcome is recorded once"
    assert case_id not in [t["case_id"] for t in remaining]
    assert as_erp.status_code == 403
