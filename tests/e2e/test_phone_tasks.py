"""The call step becomes an operator task; its outcome drives the case, once."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KEYS, Service
from tests.support.invoices import invoice_payload

OPERATOR_ACTOR = f"operator:{hashlib.sha256(KEYS['operator'].encode()).hexdigest()[:8]}@acme"


async def _wait_for_task(operator: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    for _ in range(150):  # the demo policy plans the call 15 s after the case opens
        tasks = (await operator.get("/v1/tasks")).json()["tasks"]
        mine = [t for t in tasks if t["case_id"] == case_id]
        if mine:
            return mine[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no phone task appeared within 30 s")


@pytest.fixture(scope="module")
async def demo_cases(service: Service) -> tuple[dict[str, Any], str]:
    """Two demo cases opened together, so their calls come due together: one's invoice
    body and the other's id."""
    bodies = [invoice_payload(policy="demo"), invoice_payload(policy="demo")]
    bodies[0]["debtor"]["phone"] = "+33 1 23 45 67 89"
    async with service.client("erp") as erp:
        created = await asyncio.gather(*(erp.post("/v1/invoices", json=b) for b in bodies))
    assert [c.status_code for c in created] == [201, 201]
    bodies[0]["case_id"] = created[0].json()["case_id"]
    return bodies[0], created[1].json()["case_id"]


async def test_call_task_lists_the_debtor_and_its_promise_pauses_the_case(
    service: Service, demo_cases: tuple[dict[str, Any], str]
) -> None:
    body, _ = demo_cases
    case_id = body["case_id"]
    async with service.client("erp") as erp, service.client("operator") as operator:
        task = await _wait_for_task(operator, case_id)
        assert task["debtor_phone"] == "+33 1 23 45 67 89"
        assert task["invoice_number"] == body["invoice_number"]
        assert body["invoice_number"] in task["call_script"]

        promised_on = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        outcome_url = f"/v1/tasks/{task['task_id']}/outcome"
        bad = await operator.post(outcome_url, json={"outcome": "promise"})
        forged = await operator.post(
            outcome_url, json={"outcome": "no_answer", "by": "quelqu'un d'autre"}
        )
        # Two operators record the call at the same moment: one wins, the other is told.
        promise = {"outcome": "promise", "promised_on": promised_on}
        async with service.client("operator") as colleague:
            first, second = await asyncio.gather(
                operator.post(outcome_url, json=promise), colleague.post(outcome_url, json=promise)
            )
        again = await operator.post(outcome_url, json={"outcome": "no_answer"})
        remaining = (await operator.get("/v1/tasks")).json()["tasks"]
        as_erp = await erp.get("/v1/tasks")
        case = (await operator.get(f"/v1/cases/{case_id}")).json()

    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "promised_on"
    assert forged.status_code == 422
    assert forged.json()["error"]["details"][0]["field"] == "by"
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first, second)
    winner = first if first.status_code == 200 else second
    assert "journal" not in winner.json(), "a write answers an ack, not the case"
    calls = [j for j in case["journal"] if j["type"] == "PhoneCallLogged"]
    assert len(calls) == 1, "exactly one of the two outcomes reached the case"
    assert calls[0]["by"] == OPERATOR_ACTOR
    assert [h["kind"] for h in case["holds"]] == ["promise"]
    assert winner.json()["holds"] == ["promise"]
    assert again.status_code == 409, "an outcome is recorded once"
    assert case_id not in [t["case_id"] for t in remaining]
    assert as_erp.status_code == 403


async def test_an_outcome_for_a_case_closed_meanwhile_is_refused_and_retires_the_task(
    service: Service, demo_cases: tuple[dict[str, Any], str]
) -> None:
    _, case_id = demo_cases
    async with service.client("operator") as operator:
        task = await _wait_for_task(operator, case_id)
        closed = await operator.post(
            f"/v1/cases/{case_id}/close", json={"outcome": "written_off", "reason": "faillite"}
        )
        refused = await operator.post(
            f"/v1/tasks/{task['task_id']}/outcome", json={"outcome": "reached"}
        )
        remaining = (await operator.get("/v1/tasks")).json()["tasks"]
    assert closed.status_code == 200, closed.text
    assert refused.status_code == 409, refused.text
    assert task["task_id"] not in [t["task_id"] for t in remaining], "nothing left to call about"
