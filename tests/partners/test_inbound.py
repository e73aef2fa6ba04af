"""POST /v1/partners/{kind}/reports: signed, once per event id, signalled to the case."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.partners import (
    HttpPartnerClient,
    PartnerSettings,
    deliver_handoff,
    partner_events,
    partner_handoffs,
)
from activities.partners.package import canonical_json
from activities.partners.signature import SignatureError, compute, sign, verify
from legal import load_rate_table
from services.api.deps import Runtime
from services.api.errors import install_error_handlers
from services.api.routers.partner_webhook import PartnerInbound, get_partner_inbound, router
from services.config import Settings
from services.db.tables import cases
from tests.partners.support import (
    SECRET,
    HandedOff,
    escalated_case,
    eventually,
    post_report,
    report,
    stale,
    state,
)
from tests.support.cases import CaseRig
from tests.support.serving import free_port, serve

KIND = "commissaire_small_claims"


@dataclass
class Mandated:
    case: HandedOff
    reference: str


@pytest.fixture(scope="module")
async def mandated(
    rig: CaseRig, engine: AsyncEngine, quiet_client: HttpPartnerClient
) -> AsyncIterator[Mandated]:
    """A real escalated case handed to the (quiet) sandbox, registered in ``cases`` as the
    API does, without telling deliver_handoff its workflow (found through ``cases``)."""
    case = await escalated_case(rig, engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(cases).values(
                case_id=case.request.case_id,
                tenant=case.request.tenant,
                invoice_number=case.request.context["invoice_number"],
                workflow_id=case.handle.id,
                content_hash="0" * 64,
                policy_id="demo-fast",
                policy_version=2,
                invoice={},
            )
        )
    reference = await deliver_handoff(engine, quiet_client, case.request, case.body)
    yield Mandated(case, reference)


async def test_a_signed_report_is_recorded_once_and_signalled_once(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    body = report(mandated.reference, "accepted", note="dossier ouvert")

    first = await post_report(webhook_url, KIND, body)
    replay = await post_report(webhook_url, KIND, body)  # re-signed, same event id

    assert first.status_code == 200, first.text
    assert first.json() == {
        "event_id": body["event_id"],
        "case_id": mandated.case.request.case_id,
        "mandate_reference": mandated.reference,
        "status": "accepted",
        "duplicate": False,
        "outcome": "signalled",
    }
    assert replay.status_code == 200
    assert replay.json()["duplicate"] is True
    by = f"partner:{KIND}:{mandated.reference}"

    async def reported() -> list[str] | None:
        journal = (await state(mandated.case.handle)).journal
        found = [
            e.detail
            for e in journal
            if e.type == "PartnerReport" and e.by == by and e.detail.startswith("accepted")
        ]
        return found or None

    details = await eventually(reported, "the partner report in the journal")
    assert details == [f"accepted mandat {mandated.reference} : dossier ouvert"]
    async with engine.connect() as conn:
        handoff = (
            await conn.execute(
                select(partner_handoffs).where(
                    partner_handoffs.c.partner_reference == mandated.reference
                )
            )
        ).one()
        outcomes = (
            await conn.execute(
                select(partner_events.c.outcome).where(
                    partner_events.c.event_id == body["event_id"]
                )
            )
        ).scalars()
        assert list(outcomes) == ["signalled"]
    assert handoff.status == "accepted"
    events = [h.get("event_id") for h in handoff.status_history]
    assert events.count(body["event_id"]) == 1


async def test_a_wrong_missing_or_stale_signature_is_401(
    mandated: Mandated, webhook_url: str
) -> None:
    body = report(mandated.reference)
    raw = canonical_json(body)

    wrong = await post_report(webhook_url, KIND, raw, secret="not-the-secret")
    missing = await post_report(webhook_url, KIND, raw, signature="")
    old = await post_report(webhook_url, KIND, raw, at=stale())
    garbled = await post_report(webhook_url, KIND, raw, signature="v1=abc")
    tampered = await post_report(
        webhook_url, KIND, raw.replace(b"in_progress", b"closed"), signature=sign(SECRET, raw)
    )

    for response in (wrong, missing, old, garbled, tampered):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert "old" in old.json()["error"]["message"]


async def test_unknown_mandates_and_kinds_are_404_and_bad_reports_422(
    mandated: Mandated, webhook_url: str
) -> None:
    unknown = await post_report(webhook_url, KIND, report("SBX-PC-0000000000"))
    other_kind = await post_report(webhook_url, "agency", report(mandated.reference))
    no_kind = await post_report(webhook_url, "bailiff", report(mandated.reference))
    no_amount = await post_report(webhook_url, KIND, report(mandated.reference, "amount_collected"))

    assert [r.status_code for r in (unknown, other_kind, no_kind)] == [404, 404, 404]
    assert no_amount.status_code == 422
    assert no_amount.json()["error"]["details"][0]["field"] == "amount"


def test_the_signature_covers_timestamp_and_body() -> None:
    body = b'{"a":1}'
    header = sign("s3cret", body, now=1_767_225_600)
    mac = hmac.new(b"s3cret", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={mac}"
    assert compute("s3cret", 1_767_225_600, body) == mac
    assert verify("s3cret", body, header, now=1_767_225_700) == 1_767_225_600
    rotated = f"{header},v1={'0' * 64}"
    assert verify("s3cret", body, rotated, now=1_767_225_600) == 1_767_225_600
    for bad in ("", "t=1767225600", "v1=00", f"t=x,v1={'0' * 64}"):
        with pytest.raises(SignatureError):
            verify("s3cret", body, bad, now=1_767_225_600)
    with pytest.raises(SignatureError):
        verify("s3cret", body, header, now=1_767_225_600 + 301)


async def test_while_temporal_is_down_a_report_is_kept_and_its_retry_signals_it(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    down = await Client.connect(
        f"127.0.0.1:{free_port()}", data_converter=pydantic_data_converter, lazy=True
    )
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    inbound = PartnerInbound(
        engine=engine,
        temporal=down,
        settings=PartnerSettings(webhook_secret=SECRET),
        rpc_timeout=timedelta(seconds=2),
    )
    app.dependency_overrides[get_partner_inbound] = lambda: inbound
    body = report(mandated.reference, "in_progress")

    async with serve(app) as unreachable_url:
        refused = await post_report(unreachable_url, KIND, body)
    retried = await post_report(webhook_url, KIND, body)

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "temporal_unavailable"
    assert retried.status_code == 200
    assert (retried.json()["duplicate"], retried.json()["outcome"]) == (True, "signalled")
    async with engine.connect() as conn:
        outcome = (
            await conn.execute(
                select(partner_events.c.outcome).where(
                    partner_events.c.event_id == body["event_id"]
                )
            )
        ).scalar_one()
    assert outcome == "signalled"


async def test_the_default_dependency_reads_the_apps_runtime_and_partner_settings(
    engine: AsyncEngine, dev_env: WorkflowEnvironment, mandated: Mandated
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.runtime = Runtime(
        settings=Settings(),
        engine=engine,
        temporal=dev_env.client,
        keys={},
        rates=load_rate_table(),
    )
    app.state.partner_settings = PartnerSettings(webhook_secret="app-secret")

    async with serve(app) as url:
        known = await post_report(url, KIND, report(mandated.reference), secret="app-secret")
        other_secret = await post_report(url, KIND, report(mandated.reference))

    assert known.status_code == 200, known.text
    assert other_secret.status_code == 401
