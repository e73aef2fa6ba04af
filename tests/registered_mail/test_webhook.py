"""`POST /v1/webhooks/registered-mail`: Basic credentials, idempotent, reads the provider back."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.registered_mail.maileva_client import MailevaClient, recipient_custom_id
from inbound.registered_mail_notifications import ProviderNotification
from inbound.signatures import sign_mail_notification
from sandboxes import SandboxHandle
from storage.tables import registered_letter_proofs, registered_letters, registered_mail_events
from tests.registered_mail.conftest import LOGIN, SECRET, eventually, formal_notice


async def posted_letter(engine: AsyncEngine, client: MailevaClient) -> tuple[str, str, str]:
    """(idempotency key, sending id, recipient id) of a formal notice posted to the sandbox."""
    request = formal_notice(f"case-{uuid.uuid4().hex[:12]}")
    activities = ChannelActivities(engine, registered_mail=client)
    receipt = await ActivityEnvironment().run(activities.send_registered_letter, request)
    recipient = (await client.list_recipients(receipt.reference))[0]
    return request.idempotency_key, receipt.reference, str(recipient["id"])


def notification(
    sandbox: SandboxHandle, key: str, sending_id: str, recipient_id: str, event_type: str
) -> dict[str, Any]:
    return {
        "source": "sandbox.recouvre.local",
        "user_id": "sandbox@recouvre.example",
        "client_id": "recouvre-sandbox",
        "event_type": event_type,
        "resource_type": "registered_mail/v4/recipients",
        "event_date": "2026-12-07T09:12:00.000Z",
        "event_location": "FR",
        "resource_id": recipient_id,
        "resource_location": (
            f"{sandbox.url}/registered_mail/v4/sendings/{sending_id}/recipients/{recipient_id}"
        ),
        "resource_custom_id": recipient_custom_id(key),
        "resource_custom_data": key,
    }


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


async def post(
    url: str, body: dict[str, Any], *, authorization: str | None = basic(LOGIN, SECRET)
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, content=json.dumps(body).encode(), headers=headers)


def event_id(body: dict[str, Any]) -> str:
    return ProviderNotification.model_validate(body).event_id


async def count(engine: AsyncEngine, table: Any, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_a_notification_is_accepted_once_and_its_replay_changes_nothing(
    engine: AsyncEngine,
    mail_client: MailevaClient,
    sandbox: SandboxHandle,
    webhook_url: str,
) -> None:
    key, sending_id, recipient_id = await posted_letter(engine, mail_client)
    await eventually(lambda: mail_client.status(sending_id), lambda s: s.outcome == "delivered")
    body = notification(sandbox, key, sending_id, recipient_id, "ON_MAIN_DELIVERY_STATUS_DELIVERED")

    first = await post(webhook_url, body)
    assert first.status_code == 201, first.text
    ack = first.json()
    assert ack["duplicate"] is False and ack["letter"] == key
    assert ack["provider_id"] == sending_id and ack["status"] == "delivered"
    assert [s.split("@")[0] for s in ack["signalled"]] == ["presented", "delivered"]
    assert sorted(ack["proofs"]) == ["acknowledgement_of_receipt", "content_proof", "deposit_proof"]

    replay = await post(webhook_url, body)
    assert replay.status_code == 201, replay.text
    assert replay.json()["duplicate"] is True
    assert replay.json()["signalled"] == [] and replay.json()["proofs"] == []
    assert await count(engine, registered_mail_events, event_id=event_id(body)) == 1

    async with engine.connect() as conn:
        letter = (
            await conn.execute(
                select(registered_letters).where(registered_letters.c.idempotency_key == key)
            )
        ).one()
        proofs = (
            await conn.execute(
                select(registered_letter_proofs).where(
                    registered_letter_proofs.c.idempotency_key == key
                )
            )
        ).all()
    assert letter.status == "delivered"
    assert letter.first_presented_on is not None
    assert letter.provider_recipient_id == recipient_id
    assert letter.registered_number
    statuses = [h["status"] for h in letter.status_history]
    assert statuses == ["pending", "creating", "created", "submitted", "presented", "delivered"]
    assert {p.kind for p in proofs} == {
        "deposit_proof",
        "content_proof",
        "acknowledgement_of_receipt",
    }
    for proof in proofs:
        assert proof.sha256 == hashlib.sha256(proof.content).hexdigest()
        assert proof.content.startswith(b"%PDF") and proof.size == len(proof.content)
    assert {(p["kind"], p["sha256"]) for p in letter.proofs} == {(p.kind, p.sha256) for p in proofs}

    later = dict(body, event_type="ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED")
    another = await post(webhook_url, later)
    assert another.status_code == 201
    assert another.json()["duplicate"] is False
    assert another.json()["signalled"] == [], "nothing new: no status is signalled twice"


async def test_anything_but_the_subscription_credentials_is_401(
    engine: AsyncEngine,
    mail_client: MailevaClient,
    sandbox: SandboxHandle,
    webhook_url: str,
) -> None:
    key, sending_id, recipient_id = await posted_letter(engine, mail_client)
    body = notification(sandbox, key, sending_id, recipient_id, "ON_DEPOSIT_PROOF_RECEIVED")
    raw = json.dumps(body).encode()
    refused = [
        await post(webhook_url, body, authorization=basic(LOGIN, "not-the-secret")),
        await post(webhook_url, body, authorization=basic("someone-else", SECRET)),
        await post(webhook_url, body, authorization=None),
        await post(webhook_url, body, authorization="Bearer " + SECRET),
        await post(webhook_url, body, authorization="Basic not-base64!"),
    ]
    async with httpx.AsyncClient(timeout=30) as http:  # recouvre's old HMAC scheme: no more
        refused.append(
            await http.post(
                webhook_url,
                content=raw,
                headers={"Content-Type": "application/json", **sign_mail_notification(SECRET, raw)},
            )
        )
    for answer in refused:
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert await count(engine, registered_mail_events, idempotency_key=key) == 0
    accepted = await post(webhook_url, body)
    assert accepted.status_code == 201, accepted.text


async def test_a_notification_for_no_known_letter_is_404_and_an_odd_body_422(
    sandbox: SandboxHandle, webhook_url: str
) -> None:
    body = notification(
        sandbox, "case-none/formal_notice/registered_letter", "s-1", "r-1", "ON_STATUS_ACCEPTED"
    )
    unknown = await post(webhook_url, body)
    assert unknown.status_code == 404
    odd = await post(webhook_url, {"hello": "world"})
    assert odd.status_code == 422
