"""The sandbox provider itself: retried signed notifications, restarts, polling fallback."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.tracking import sync_open_letters
from sandboxes import SandboxSchedule, start_sandbox_registered_mail
from schemas.case_events import RegisteredLetterStatus
from storage.tables import registered_letters
from tests.registered_mail.conftest import FAST, SECRET, eventually, formal_notice
from tests.registered_mail.test_maileva_client import letter


async def notifications(url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{url}/_sandbox/notifications")
    found: list[dict[str, Any]] = answer.json()["notifications"]
    return found


async def test_a_refused_notification_is_retried_then_abandoned(webhook_url: str) -> None:
    schedule = SandboxSchedule(
        deposit_after=5, present_after=6, outcome_after=7, webhook_attempts=3, webhook_backoff=0.05
    )
    handle = start_sandbox_registered_mail(
        webhook_url=webhook_url, secret="a-secret-the-receiver-does-not-share", schedule=schedule
    )
    try:
        async with MailevaClient(handle.settings()) as client:
            await client.send(letter())
        sent = await eventually(
            lambda: notifications(handle.url),
            lambda found: bool(found) and len(found[0]["attempts"]) == 3,
        )
    finally:
        handle.stop()
    first = sent[0]
    assert first["delivered"] is False
    assert [a["result"] for a in first["attempts"]] == [401, 401, 401]
    assert first["body"]["event_type"] == "ON_STATUS_ACCEPTED"


async def test_a_restarted_sandbox_keeps_its_sendings_and_their_schedule(tmp_path: Path) -> None:
    schedule = SandboxSchedule(deposit_after=0.2, present_after=1.5, outcome_after=2.0)
    first = start_sandbox_registered_mail(secret=SECRET, schedule=schedule, state_dir=tmp_path)
    async with MailevaClient(first.settings()) as client:
        mail = letter()
        sending_id = await client.send(mail)
    first.stop()
    assert (tmp_path / "registered-mail-sandbox.json").exists()

    second = start_sandbox_registered_mail(secret=SECRET, schedule=schedule, state_dir=tmp_path)
    try:
        async with MailevaClient(second.settings()) as client:
            assert await client.send(mail) == sending_id, "the key still finds its sending"
            final = await eventually(
                lambda: client.status(sending_id), lambda s: s.outcome == "delivered"
            )
            assert [e.outcome for e in final.events] == ["presented", "delivered"]
            documents = await client.list_documents(sending_id)
            assert len(documents) == 1 and documents[0]["size"] == len(mail.pdf)
    finally:
        second.stop()


async def test_polling_brings_a_letter_up_to_date_without_notifications(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    request = formal_notice(f"case-{uuid.uuid4().hex[:12]}")
    activities = ChannelActivities(engine, registered_mail=mail_client)
    receipt = await ActivityEnvironment().run(activities.send_registered_letter, request)
    await eventually(
        lambda: mail_client.status(receipt.reference), lambda s: s.outcome == "delivered"
    )
    told: list[tuple[str | None, str, RegisteredLetterStatus]] = []

    async def signal(workflow_id: str | None, case_id: str, event: RegisteredLetterStatus) -> None:
        told.append((workflow_id, case_id, event))

    results = await sync_open_letters(engine, mail_client, signal, limit=1000)
    mine = [r for r in results if r.idempotency_key == request.idempotency_key]
    assert mine and mine[0].status == "delivered"
    assert [e.status for _, case, e in told if case == request.case_id] == [
        "presented",
        "delivered",
    ]
    assert all(e.by == "registered-mail:maileva" for _, _, e in told)
    again = await sync_open_letters(engine, mail_client, signal, limit=1000)
    assert request.idempotency_key not in {r.idempotency_key for r in again}, "final: not polled"
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(registered_letters).where(
                    registered_letters.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    assert row.status == "delivered"
    assert {p["kind"] for p in row.proofs} == {
        "deposit_proof",
        "content_proof",
        "acknowledgement_of_receipt",
    }
    assert FAST.outcome_after < 5
