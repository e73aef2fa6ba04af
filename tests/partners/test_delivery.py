"""deliver_handoff: one mandate per idempotency key, recorded with its package's digest."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from activities.channel_activities import ChannelActivities
from activities.partners import (
    HandoffPackage,
    HttpPartnerClient,
    PartnerRejected,
    build_package,
    deliver_handoff,
)
from activities.partners.package import canonical_json, parse_french_amount
from sandboxes.partner_server import (
    PartnerSchedule,
    SandboxPartner,
    start_sandbox_partner,
)
from storage.tables import channel_outbox, deliveries, partner_events, partner_handoffs
from tests.partners.conftest import partner_settings
from tests.partners.support import handoff_request
from tests.support.schema import schema_differences


async def _mandates(sandbox: SandboxPartner, key: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as http:
        response = await http.get(
            "/v1/mandates",
            params={"idempotency_key": key},
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
        )
    response.raise_for_status()
    found: list[dict[str, object]] = response.json()["mandates"]
    return found


async def _record_case_documents(engine: AsyncEngine, case_id: str) -> None:
    """An earlier formal notice in the outbox and a reminder in the email ledger."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(channel_outbox).values(
                idempotency_key=f"{case_id}/formal_notice/registered_letter",
                case_id=case_id,
                step="formal_notice",
                channel="registered_letter",
                template="formal_notice@1",
                recipient={"name": "Durand SARL", "address_lines": []},
                body="mise en demeure",
                body_sha256=hashlib.sha256(b"mise en demeure").hexdigest(),
                reference="OUT-notice",
                status="recorded",
            )
        )
        await conn.execute(
            insert(deliveries).values(
                idempotency_key=f"{case_id}/reminder_1",
                case_id=case_id,
                step="reminder_1",
                channel="email",
                recipient="compta@durand.example",
                subject="Relance facture F-2026-0001",
                message_id="<r1@recouvre.example>",
                body_sha256="ab" * 32,
                status="sent",
            )
        )


async def test_the_same_key_twice_makes_one_mandate_with_one_reference(
    engine: AsyncEngine, quiet_partner: SandboxPartner, quiet_client: HttpPartnerClient
) -> None:
    request = handoff_request()
    await _record_case_documents(engine, request.case_id)
    receipt = await ChannelActivities(engine).hand_off_case(request)
    async with engine.connect() as conn:
        body = (
            await conn.execute(
                select(channel_outbox.c.body).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).scalar_one()

    first = await deliver_handoff(engine, quiet_client, request, body)
    second = await deliver_handoff(engine, quiet_client, request, body)

    assert first == second
    assert first.startswith("SBX-AG-")
    mandates = await _mandates(quiet_partner, request.idempotency_key)
    assert [m["reference"] for m in mandates] == [first]
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(partner_handoffs).where(
                    partner_handoffs.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    assert (row.case_id, row.tenant, row.partner_kind) == (request.case_id, "test", "agency")
    assert (row.partner_reference, row.status) == (first, "submitted")
    assert [h["status"] for h in row.status_history] == ["pending", "submitted"]
    assert row.package_sha256 == hashlib.sha256(canonical_json(row.package)).hexdigest()
    assert mandates[0]["package_sha256"] == row.package_sha256, "the partner got those bytes"
    assert row.document_sha256 == hashlib.sha256(body.encode()).hexdigest()

    package = HandoffPackage.model_validate(row.package)
    assert package.document.text == body
    assert package.document.reference == receipt.reference
    assert [(d.source, d.step, d.reference, d.sha256) for d in package.documents] == [
        ("handoff", "escalation", receipt.reference, row.document_sha256),
        (
            "channel_outbox",
            "formal_notice",
            "OUT-notice",
            hashlib.sha256(b"mise en demeure").hexdigest(),
        ),
        ("deliveries", "reminder_1", "<r1@recouvre.example>", "ab" * 32),
    ]
    assert (package.debtor.name, package.debtor.siren) == ("Durand SARL", "732829320")
    assert package.debtor.address_lines == ["12 rue de la Paix", "75002 Paris"]
    assert package.creditor.address_lines == ["1 avenue des Tests", "69001 Lyon"]
    assert package.decompte.balance == "1\u202f000,00\u00a0€"
    assert package.decompte.balance_value == Decimal("1000.00")
    assert package.decompte.total_value == Decimal("1052.40")
    assert str(package.invoice.due_date) == "2026-10-31"


async def test_the_partner_honours_the_idempotency_key(
    engine: AsyncEngine, quiet_partner: SandboxPartner, quiet_client: HttpPartnerClient
) -> None:
    request = handoff_request()
    package = await build_package(engine, request, "mandat de recouvrement")

    created = await quiet_client.create_mandate(package)
    again = await quiet_client.create_mandate(package)

    assert (created.replayed, again.replayed) == (False, True)
    assert again.reference == created.reference
    assert len(await _mandates(quiet_partner, request.idempotency_key)) == 1
    fetched = await quiet_client.get_mandate("agency", created.reference)
    assert fetched.idempotency_key == request.idempotency_key
    other = package.model_copy(update={"step": "other"})
    with pytest.raises(PartnerRejected) as refused:
        await quiet_client.create_mandate(other)
    assert (refused.value.status, refused.value.code) == (409, "idempotency_conflict")


async def test_5xx_are_retried_and_a_failed_hand_off_heals_on_the_next_attempt(
    engine: AsyncEngine,
) -> None:
    flaky = start_sandbox_partner(schedule=PartnerSchedule(reports=False, fail_first_creates=3))
    try:
        client = HttpPartnerClient.from_settings(partner_settings(flaky, max_attempts=2))
        request = handoff_request()

        with pytest.raises(ApplicationError) as failed:
            await deliver_handoff(engine, client, request, "mandat")
        assert failed.value.type == "PartnerUnavailable"
        assert not failed.value.non_retryable
        async with engine.connect() as conn:
            status = (
                await conn.execute(
                    select(partner_handoffs.c.status).where(
                        partner_handoffs.c.idempotency_key == request.idempotency_key
                    )
                )
            ).scalar_one()
        assert status == "pending"

        reference = await deliver_handoff(engine, client, request, "mandat")  # 503, then 201
        assert [m["reference"] for m in await _mandates(flaky, request.idempotency_key)] == [
            reference
        ]
    finally:
        flaky.stop()


async def test_refusals_are_typed_for_temporal(
    engine: AsyncEngine, quiet_partner: SandboxPartner, quiet_client: HttpPartnerClient
) -> None:
    wrong_key = HttpPartnerClient.from_settings(
        partner_settings(quiet_partner, agency_api_key="not-the-key")
    )
    with pytest.raises(ApplicationError) as auth:
        await deliver_handoff(engine, wrong_key, handoff_request(), "mandat")
    assert (auth.value.type, auth.value.non_retryable) == ("PartnerAuthFailed", False)

    request = handoff_request()
    await deliver_handoff(engine, quiet_client, request, "mandat")
    reused = request.model_copy(update={"case_id": f"case-{uuid.uuid4().hex[:12]}"})
    with pytest.raises(ApplicationError) as conflict:
        await deliver_handoff(engine, quiet_client, reused, "mandat")
    assert (conflict.value.type, conflict.value.non_retryable) == ("IdempotencyConflict", True)

    court = handoff_request(partner="court", channel="court_file")
    with pytest.raises(ApplicationError) as mismatch:
        await deliver_handoff(engine, quiet_client, court, "requête")
    assert mismatch.value.type == "PartnerMismatch"

    unconfigured = HttpPartnerClient({})
    with pytest.raises(ApplicationError) as missing:
        await deliver_handoff(engine, unconfigured, handoff_request(), "mandat")
    assert (missing.value.type, missing.value.non_retryable) == ("PartnerNotConfigured", True)


def test_french_amounts_parse_to_decimals() -> None:
    assert parse_french_amount("1\u202f234,50\u00a0€") == (Decimal("1234.50"), "EUR")
    assert parse_french_amount("40,00 €") == (Decimal("40.00"), "EUR")
    assert parse_french_amount("12\u00a0USD") == (Decimal("12.00"), "USD")
    assert parse_french_amount("") is None
    assert parse_french_amount("non calculé") is None


async def test_the_table_objects_match_migration_0006(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(schema_differences, partner_handoffs, partner_events) == []
