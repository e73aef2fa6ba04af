"""POST /v1/partners/{kind}/reports: signed per tenant and partner kind, once per event id,
signalled to the case with the partner's event id as its report id."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.partners import (
    HttpPartnerClient,
    PartnerSettings,
    deliver_handoff,
)
from activities.partners.package import canonical_json
from activities.partners.settings import format_webhook_secrets, parse_webhook_secrets
from inbound.partner_reports import PartnerEventIn, PartnerInbound, get_partner_inbound, router
from inbound.signatures import (
    SignatureError,
    partner_signature,
    sign_partner_report,
    verify_partner_report,
)
from legal import load_rate_table
from schemas.case import CaseView
from services.api.deps import Runtime
from services.api.errors import install_error_handlers
from services.config import Settings
from storage.tables import cases, partner_events, partner_handoffs
from tests.partners.support import (
    OTHER_TENANT,
    SECRETS,
    TENANT,
    WEBHOOK_SECRETS,
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
    no_tenant = await post_report(webhook_url, KIND, raw, tenant="", signed_tenant=TENANT)
    unknown_tenant = await post_report(webhook_url, KIND, raw, tenant="nobody", secret="x")
    old = await post_report(webhook_url, KIND, raw, at=stale())
    garbled = await post_report(webhook_url, KIND, raw, signature="v1=abc")
    tampered = await post_report(
        webhook_url,
        KIND,
        raw.replace(b"in_progress", b"closed"),
        signature=sign_partner_report(SECRETS[TENANT, KIND], TENANT, KIND, raw),
    )
    now = int(time.time())
    old_scheme = hmac.new(  # "<t>." + body, without the tenant and the kind
        SECRETS[TENANT, KIND].encode(), f"{now}.".encode() + raw, hashlib.sha256
    ).hexdigest()
    unscoped = await post_report(webhook_url, KIND, raw, signature=f"t={now},v1={old_scheme}")

    for response in (wrong, missing, no_tenant, unknown_tenant, old, garbled, tampered, unscoped):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert "old" in old.json()["error"]["message"]


async def _nothing_recorded(engine: AsyncEngine, event_id: str, reference: str) -> None:
    """No trace of ``event_id``: not in partner_events, not on the hand-off."""
    async with engine.connect() as conn:
        events = (
            await conn.execute(select(partner_events).where(partner_events.c.event_id == event_id))
        ).all()
        history = (
            await conn.execute(
                select(partner_handoffs.c.status_history).where(
                    partner_handoffs.c.partner_reference == reference
                )
            )
        ).scalar_one()
    assert events == []
    assert event_id not in [entry.get("event_id") for entry in history]


async def test_a_report_signed_with_another_partners_secret_is_401_and_changes_nothing(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    body = report(mandated.reference, "closed", result="withdrawn")

    agencys_secret = await post_report(webhook_url, KIND, body, secret=SECRETS[TENANT, "agency"])
    enforcers_secret = await post_report(
        webhook_url, KIND, body, secret=SECRETS[TENANT, "commissaire_enforcement"]
    )

    for response in (agencys_secret, enforcers_secret):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    await _nothing_recorded(engine, body["event_id"], mandated.reference)


async def test_a_report_signed_with_another_tenants_secret_is_401_and_changes_nothing(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    body = report(mandated.reference, "closed", result="withdrawn")

    # claims the mandate's tenant, signed with the other tenant's secret for the same partner
    claimed = await post_report(webhook_url, KIND, body, secret=SECRETS[OTHER_TENANT, KIND])
    # the other tenant's partner, correctly signed for its own tenant, on this tenant's mandate
    foreign = await post_report(webhook_url, KIND, body, tenant=OTHER_TENANT)
    # signed for the other tenant (with its secret), sent as the mandate's tenant
    relabelled = await post_report(webhook_url, KIND, body, signed_tenant=OTHER_TENANT)

    for response in (claimed, foreign, relabelled):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert "does not belong to tenant 'other'" in foreign.json()["error"]["message"]
    await _nothing_recorded(engine, body["event_id"], mandated.reference)


async def test_a_path_kind_other_than_the_signed_kind_is_401_and_changes_nothing(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    body = report(mandated.reference, "closed", result="withdrawn")

    # signed (with its own secret) as the small-claims commissaire, posted as the agency
    as_agency = await post_report(
        webhook_url, "agency", body, secret=SECRETS[TENANT, KIND], signed_kind=KIND
    )
    # signed as the agency (with the agency's secret), posted under the commissaire's path
    under_commissaire = await post_report(webhook_url, KIND, body, signed_kind="agency")
    # correctly signed for the path, but the body names another kind (or tenant)
    body_kind = await post_report(webhook_url, KIND, {**body, "partner_kind": "agency"})
    body_tenant = await post_report(webhook_url, KIND, {**body, "tenant": OTHER_TENANT})

    for response in (as_agency, under_commissaire, body_kind, body_tenant):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert "partner_kind 'agency'" in body_kind.json()["error"]["message"]
    await _nothing_recorded(engine, body["event_id"], mandated.reference)
    named = report(mandated.reference, tenant=TENANT, partner_kind=KIND)
    accepted = await post_report(webhook_url, KIND, named)  # naming the signed ones is fine
    assert accepted.status_code == 200, accepted.text


async def test_a_redelivered_report_is_applied_once(
    mandated: Mandated, webhook_url: str, engine: AsyncEngine
) -> None:
    """A collection reported again under the same event id pays the case once, also when the
    redelivery reaches the workflow (the commit after the first signal was lost)."""
    collected = report(mandated.reference, "amount_collected", amount="100.00")
    reference = f"partner-{collected['event_id']}"

    first = await post_report(webhook_url, KIND, collected)
    again = await post_report(webhook_url, KIND, collected)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)

    async def paid() -> list[str] | None:
        payments = (await state(mandated.case.handle)).payments
        found = [p.reference for p in payments if p.reference == reference]
        return found or None

    await eventually(paid, "the partner's payment")
    async with engine.begin() as conn:  # as if the commit after the signal had been lost
        await conn.execute(
            update(partner_events)
            .where(partner_events.c.event_id == collected["event_id"])
            .values(outcome="pending")
        )
    resignalled = await post_report(webhook_url, KIND, collected)
    assert resignalled.status_code == 200, resignalled.text
    assert (resignalled.json()["duplicate"], resignalled.json()["outcome"]) == (True, "signalled")
    later = report(mandated.reference, "in_progress", note="après le paiement")
    assert (await post_report(webhook_url, KIND, later)).status_code == 200

    async def after_both() -> CaseView | None:  # signals are applied in order
        case = await state(mandated.case.handle)
        return case if any("après le paiement" in e.detail for e in case.journal) else None

    case = await eventually(after_both, "the report sent after the redelivery")
    payments = [p for p in case.payments if p.reference == reference]
    assert [p.amount for p in payments] == [Decimal("100.00")]


def test_the_case_event_carries_the_partners_event_id() -> None:
    event = PartnerEventIn.model_validate(
        report("SBX-PC-0000000000", "amount_collected", amount="10.00", event_id="evt_42")
    )
    assert event.to_report(KIND).report_id == "evt_42"
    for bad in ({"event_id": ""}, {"event_id": "e" * 101}):
        with pytest.raises(ValidationError):
            PartnerEventIn.model_validate({**report("SBX-PC-0000000000"), **bad})
    without = report("SBX-PC-0000000000")
    del without["event_id"]
    with pytest.raises(ValidationError):
        PartnerEventIn.model_validate(without)


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


def test_the_signature_covers_timestamp_tenant_kind_and_body() -> None:
    body = b'{"a":1}'
    at = 1_767_225_600
    header = sign_partner_report("s3cret", "acme", "agency", body, now=at)
    mac = hmac.new(b"s3cret", b"1767225600.acme.agency." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={mac}"
    assert partner_signature("s3cret", at, "acme", "agency", body) == mac

    def check(header: str, secrets: tuple[str, ...] = ("s3cret",), **changes: object) -> int:
        args: dict[str, Any] = {"tenant": "acme", "kind": "agency", "body": body, **changes}
        return verify_partner_report(
            secrets, args["tenant"], args["kind"], args["body"], header, now=at + 100
        )

    assert check(header) == at
    assert check(f"{header},v1={'0' * 64}") == at  # the sender signs with two secrets
    assert check(header, secrets=("old", "s3cret")) == at  # the receiver knows two
    for changes in (
        {"tenant": "other"},
        {"kind": "commissaire_small_claims"},
        {"body": b'{"a":2}'},
        {"secrets": ("not-it",)},
        {"secrets": ()},
    ):
        with pytest.raises(SignatureError):
            check(header, **changes)
    for bad in ("", "t=1767225600", "v1=00", f"t=x,v1={'0' * 64}"):
        with pytest.raises(SignatureError):
            check(bad)
    with pytest.raises(SignatureError):
        verify_partner_report(("s3cret",), "acme", "agency", body, header, now=at + 301)


def test_partner_webhook_secrets_are_per_tenant_and_kind() -> None:
    text = "acme:agency=a1, acme:agency=a2,acme:commissaire_small_claims=c1,b:c:agency=x=y"
    parsed = parse_webhook_secrets(text)
    assert parsed == {
        ("acme", "agency"): ("a1", "a2"),
        ("acme", "commissaire_small_claims"): ("c1",),
        ("b:c", "agency"): ("x=y",),
    }
    assert parse_webhook_secrets(format_webhook_secrets(parsed)) == parsed
    settings = PartnerSettings(webhook_secrets=text)
    assert settings.webhook_secrets_for("acme", "agency") == ("a1", "a2")
    assert settings.webhook_secrets_for("acme", "commissaire_enforcement") == ()
    assert settings.webhook_secrets_for("other", "agency") == ()
    for bad in ("acme:bailiff=s", "agency=s", "acme:agency", "acme:agency=", ":agency=s"):
        with pytest.raises(ValueError):
            PartnerSettings(webhook_secrets=bad)
    with pytest.raises(ValueError, match="PARTNER_WEBHOOK_SECRETS"):
        PartnerSettings(PARTNER_WEBHOOK_SECRET="one-for-all")
    with pytest.raises(ValidationError) as caught:
        PartnerSettings(webhook_secrets="acme:bailiff=do-not-print-me")
    assert "do-not-print-me" not in str(caught.value)


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
        settings=PartnerSettings(webhook_secrets=WEBHOOK_SECRETS),
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
    app.state.partner_settings = PartnerSettings(webhook_secrets=f"{TENANT}:{KIND}=app-secret")

    async with serve(app) as url:
        known = await post_report(url, KIND, report(mandated.reference), secret="app-secret")
        other_secret = await post_report(url, KIND, report(mandated.reference))
        unconfigured = await post_report(url, "agency", report(mandated.reference))
    app.state.partner_settings = PartnerSettings(webhook_secrets="")
    async with serve(app) as url:
        nothing = await post_report(url, KIND, report(mandated.reference), secret="app-secret")

    assert known.status_code == 200, known.text
    assert other_secret.status_code == 401
    assert unconfigured.status_code == 401
    assert nothing.status_code == 503
