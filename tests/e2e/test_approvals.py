"""POST /v1/cases/{case_id}/approvals on the real stack: operators only, 409 when nothing
awaits approval for that step, 422 naming the field, an ack; approved, the step goes out;
rejected, it does not and the case waits for an operator. The worklist's query finds the
cases waiting.

The cases waiting for an approval run a fast policy (the demo's formal notice, one second
after the case opens, with ``requires_approval``), started on the service's worker and
registered in ``cases`` as intake does; the API cannot be asked for such a policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.case_view_store import cases_awaiting_approval
from services.api.acks import CaseAck
from tests.e2e.conftest import KEYS, Service
from tests.support.approvals import start_asking_case
from tests.support.invoices import invoice_payload

TENANT = "acme"
APPROVE = {"step": "formal_notice", "decision": "approve", "reason": "montant vérifié"}
REJECT = {"step": "formal_notice", "decision": "reject", "reason": "client en négociation"}


def _actor(who: str) -> str:
    return f"{who}:{hashlib.sha256(KEYS[who].encode()).hexdigest()[:8]}@{TENANT}"


async def _asking_case(service: Service, engine: AsyncEngine) -> str:
    """A case registered as intake does, whose formal notice asks for approval at once."""
    case_id = await start_asking_case(service, engine, TENANT)
    await _until(service, case_id, lambda c: _holds(c) == ["approval"], "an approval request")
    return case_id


async def _opened_standard_case(service: Service) -> str:
    """A fr-b2b-standard case due in two months: nothing awaits approval yet."""
    today = datetime.now(UTC).date()
    body = invoice_payload(
        issue_date=today.isoformat(), due_date=(today + timedelta(days=60)).isoformat()
    )
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["policy_id"], created.json()["policy_version"]) == (
        "fr-b2b-standard",
        3,
    )
    case_id: str = created.json()["case_id"]
    return case_id


def _holds(case: dict[str, Any]) -> list[str]:
    return [h["kind"] for h in case["holds"]]


async def _read(service: Service, case_id: str) -> dict[str, Any]:
    async with service.client("operator") as operator:
        response = await operator.get(f"/v1/cases/{case_id}")
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


async def _until(service: Service, case_id: str, ready: Any, what: str) -> dict[str, Any]:
    for _ in range(150):
        case = await _read(service, case_id)
        if ready(case):
            return case
        await asyncio.sleep(0.2)
    raise AssertionError(f"case {case_id} never got {what}: {case['holds']}")


async def _decide(
    service: Service, who: str | None, case_id: str, body: dict[str, Any]
) -> httpx.Response:
    async with service.client(who) as client:
        return await client.post(f"/v1/cases/{case_id}/approvals", json=body)


def _field(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return [d["field"] for d in error["details"]]


async def test_only_an_operator_approves_and_the_step_then_goes_out(
    service: Service, engine: AsyncEngine
) -> None:
    case_id = await _asking_case(service, engine)
    waiting = await _read(service, case_id)
    async with engine.connect() as conn:
        worklist = await cases_awaiting_approval(conn, TENANT)

    forbidden = [await _decide(service, who, case_id, APPROVE) for who in ("erp", "auditor")]
    anonymous = await _decide(service, None, case_id, APPROVE)
    elsewhere = await _decide(service, "other_operator", case_id, APPROVE)
    other_step = await _decide(service, "operator", case_id, {**APPROVE, "step": "escalation"})
    approved = await _decide(service, "operator", case_id, APPROVE)
    again = await _decide(service, "operator", case_id, APPROVE)
    sent = await _until(service, case_id, lambda c: c["formal_notice"] is not None, "a letter")

    assert waiting["formal_notice"] is None and waiting["approvals"] == []
    assert "awaiting approval of Mise en demeure (LRAR)" in waiting["next_action"]["why"]
    [asked] = [item for item in worklist if item.case_id == case_id]
    assert (asked.step, asked.invoice_number, asked.debtor_name) == (
        "formal_notice",
        waiting["invoice_number"],
        waiting["debtor_name"],
    )
    assert asked.since == datetime.fromisoformat(waiting["holds"][0]["since"])

    assert [r.status_code for r in forbidden] == [403, 403]
    assert {r.json()["error"]["code"] for r in forbidden} == {"forbidden"}
    assert (anonymous.status_code, elsewhere.status_code) == (401, 404)
    assert other_step.status_code == 409, other_step.text
    assert "formal_notice does" in other_step.json()["error"]["message"]

    assert approved.status_code == 200, approved.text
    ack = approved.json()
    assert set(ack) == set(CaseAck.model_fields), "an ack, not the case"
    assert (ack["case_id"], ack["holds"]) == (case_id, [])
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    [decision] = sent["approvals"]
    assert (decision["step"], decision["decision"], decision["by"], decision["reason"]) == (
        "formal_notice",
        "approve",
        _actor("operator"),
        "montant vérifié",
    )
    journal = {entry["type"]: entry["by"] for entry in sent["journal"]}
    assert journal["StepApproved"] == _actor("operator")
    assert "FormalNoticeSent" in journal


async def test_a_rejected_step_does_not_go_out_and_the_case_waits_for_an_operator(
    service: Service, engine: AsyncEngine
) -> None:
    case_id = await _asking_case(service, engine)

    no_reason = await _decide(service, "operator", case_id, {**REJECT, "reason": ""})
    rejected = await _decide(service, "operator", case_id, REJECT)
    case = await _read(service, case_id)
    after = await _decide(service, "operator", case_id, APPROVE)

    assert _field(no_reason) == ["reason"]
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["holds"] == ["operator"]
    assert case["formal_notice"] is None
    assert [a["decision"] for a in case["approvals"]] == ["reject"]
    [hold] = case["holds"]
    assert (hold["kind"], hold["by"]) == ("operator", _actor("operator"))
    assert "rejected: client en négociation" in hold["reason"]
    assert "StepRejected" in [entry["type"] for entry in case["journal"]]
    assert after.status_code == 409, "nothing awaits approval once decided"


async def test_nothing_awaits_approval_and_bad_bodies_are_named(service: Service) -> None:
    case_id = await _opened_standard_case(service)
    nothing = await _decide(service, "operator", case_id, APPROVE)
    bad = {
        "decision": await _decide(service, "operator", case_id, {**APPROVE, "decision": "ok"}),
        "step": await _decide(service, "operator", case_id, {**APPROVE, "step": "Mise en"}),
        "by": await _decide(service, "operator", case_id, {**APPROVE, "by": "quelqu'un"}),
    }
    unknown_case = await _decide(service, "operator", str(uuid.uuid4()), APPROVE)

    assert nothing.status_code == 409, nothing.text
    assert nothing.json()["error"]["message"] == "no step awaits approval on this case"
    for field, response in bad.items():
        assert field in _field(response), (field, response.text)
    assert unknown_case.status_code == 404


async def test_the_openapi_names_the_endpoint_and_hides_by(service: Service) -> None:
    async with service.client(None) as client:
        spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/cases/{case_id}/approvals"]["post"]
    assert operation["operationId"] == "decideApproval"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/CaseAck")
    body = spec["components"]["schemas"]["ApprovalDecision"]
    assert "by" not in body["properties"]
    assert body["properties"]["decision"]["enum"] == ["approve", "reject"]
