"""Helpers for the partner tests: a fast policy, an escalated case, signed reports."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle

from activities.channel_requests import ChannelRequest, Recipient
from activities.partners.package import canonical_json
from activities.partners.settings import HANDOFF_PARTNERS, format_webhook_secrets
from inbound.signatures import PARTNER_SIGNATURE_HEADER, PARTNER_TENANT_HEADER, sign_partner_report
from schemas.case import CaseView, Stage
from schemas.case_events import CaseEventEnvelope, RegisteredLetterStatus
from schemas.policy import Policy
from storage.tables import channel_outbox
from tests.support.cases import CaseRig

TENANT = "test"
"""The tenant of the cases the rig starts."""
OTHER_TENANT = "other"
SECRETS: dict[tuple[str, str], str] = {
    (tenant, kind): f"secret-{tenant}-{kind}"
    for tenant in (TENANT, OTHER_TENANT)
    for kind in HANDOFF_PARTNERS
}
"""One webhook secret per (tenant, partner kind), as PARTNER_WEBHOOK_SECRETS gives them."""
WEBHOOK_SECRETS = format_webhook_secrets(SECRETS)
DEMO = Path(__file__).parents[2] / "policies" / "data" / "demo.json"
T = TypeVar("T")

CONTEXT: dict[str, str] = {
    "creditor_name": "Créancier Test SAS",
    "creditor_address": "1 avenue des Tests\n69001 Lyon",
    "document_date": "05/12/2026",
    "invoice_number": "F-2026-0001",
    "issue_date": "01/10/2026",
    "due_date": "31/10/2026",
    "debtor_kind": "business",
    "debtor_name": "Durand SARL (SIREN 732 829 320)",
    "debtor_address": "12 rue de la Paix\n75002 Paris",
    "principal": "1\u202f200,00\u00a0€",
    "paid": "200,00\u00a0€",
    "balance": "1\u202f000,00\u00a0€",
    "penalties": "12,40\u00a0€",
    "indemnity": "40,00\u00a0€",
    "total": "1\u202f052,40\u00a0€",
    "claim_basis": "maintenance informatique, bon de commande BC-12 du 01/09/2026",
    "notice_date": "20/11/2026",
    "payment_instructions": "par virement",
}
AGENCY = Recipient(
    name="Recouvrement Amiable Conseil", address_lines=["5 rue Neuve", "33000 Bordeaux"]
)


def handoff_request(case_id: str | None = None, **changes: Any) -> ChannelRequest:
    """An agency hand-off like the workflow's, for a fresh case."""
    case_id = case_id or f"case-{uuid.uuid4().hex[:12]}"
    fields: dict[str, Any] = {
        "idempotency_key": f"{case_id}/escalation/handoff",
        "case_id": case_id,
        "tenant": "test",
        "step": "escalation",
        "channel": "handoff",
        "template": "handoff_agency@1",
        "recipient": AGENCY,
        "partner": "agency",
        "context": dict(CONTEXT),
    }
    fields.update(changes)
    return ChannelRequest(**fields)


def fast_policy() -> Policy:
    """demo.json's formal notice and escalation only, a second apart."""
    data = json.loads(DEMO.read_text())
    steps = [s for s in data["steps"] if s["key"] in ("formal_notice", "escalation")]
    for step in steps:
        step["offset"] = "PT1S"
    data.update(steps=steps, min_gap="PT0.2S", formal_notice_deadline="PT1S", id="demo-fast")
    return Policy.model_validate(data)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = 30.0
) -> T:
    """Poll ``probe`` until it returns something other than None."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await probe()
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def state(handle: WorkflowHandle[Any, CaseView]) -> CaseView:
    found: CaseView = await handle.query("state", result_type=CaseView)
    return found


@dataclass
class HandedOff:
    """A case the real workflow escalated, and the hand-off it recorded."""

    handle: WorkflowHandle[Any, CaseView]
    request: ChannelRequest
    body: str


async def escalated_case(rig: CaseRig, engine: AsyncEngine) -> HandedOff:
    """Start a case on the fast policy, report the formal notice presented, wait for the
    small-claims hand-off, and read back what ``hand_off_case`` was asked and recorded."""
    handle = await rig.start(datetime.now(UTC), policy=fast_policy())

    async def notice_sent() -> CaseView | None:
        case = await state(handle)
        return case if case.formal_notice is not None else None

    await eventually(notice_sent, "the formal notice")
    presented = RegisteredLetterStatus(status="presented", on=datetime.now(UTC).date(), by="test")
    await handle.signal("record_event", CaseEventEnvelope(event=presented))

    async def handed_off() -> CaseView | None:
        case = await state(handle)
        done = [a for a in case.actions if a.step == "escalation" and a.status == "sent"]
        return case if done else None

    case = await eventually(handed_off, "the hand-off")
    assert case.stage is Stage.small_claims
    request = await scheduled_handoff(rig.client, handle)
    async with engine.connect() as conn:
        body = (
            await conn.execute(
                select(channel_outbox.c.body).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).scalar_one()
    return HandedOff(handle, request, body)


async def scheduled_handoff(
    client: Client, handle: WorkflowHandle[Any, CaseView]
) -> ChannelRequest:
    """The ChannelRequest the workflow passed to ``hand_off_case`` (from its history)."""
    converter = client.data_converter
    async for event in handle.fetch_history_events():
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == "hand_off_case":
            [request] = await converter.decode(attributes.input.payloads, [ChannelRequest])
            assert isinstance(request, ChannelRequest)
            return request
    raise AssertionError("no hand_off_case activity in the history")


def report(reference: str, status: str = "in_progress", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"evt_{uuid.uuid4().hex[:16]}",
        "mandate_reference": reference,
        "status": status,
        "occurred_on": datetime.now(UTC).date().isoformat(),
        **fields,
    }


async def post_report(
    base_url: str,
    kind: str,
    body: dict[str, Any] | bytes,
    *,
    tenant: str = TENANT,
    secret: str | None = None,
    signed_tenant: str | None = None,
    signed_kind: str | None = None,
    signature: str | None = None,
    at: float | None = None,
) -> httpx.Response:
    """POST ``body`` to ``/v1/partners/{kind}/reports`` as the partner of ``tenant``: signed,
    unless told otherwise, with that pair's secret (``secret``), for ``signed_tenant`` and
    ``signed_kind`` (default: those of the request); ``tenant=""`` sends no tenant header."""
    raw = body if isinstance(body, bytes) else canonical_json(body)
    headers = {"Content-Type": "application/json"}
    if tenant:
        headers[PARTNER_TENANT_HEADER] = tenant
    if signature is None:
        signing_tenant = signed_tenant or tenant
        signing_kind = signed_kind or kind
        key = secret if secret is not None else SECRETS.get((signing_tenant, signing_kind), "?")
        signature = sign_partner_report(key, signing_tenant, signing_kind, raw, now=at)
    if signature:
        headers[PARTNER_SIGNATURE_HEADER] = signature
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await http.post(f"/v1/partners/{kind}/reports", content=raw, headers=headers)


def stale(seconds: int = 3600) -> float:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).timestamp()
