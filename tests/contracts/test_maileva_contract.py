"""recouvre's Maileva client and its sandbox against Maileva's published OpenAPI documents.

One real run, recorded with httpx event hooks: the client logs in, subscribes to the
notifications, posts three formal notices (delivered, returned to sender, rejected), reads
their statuses and proofs; the sandbox answers and calls recouvre's real webhook endpoint.
Every request the client sent, every response the sandbox gave and every callback it emitted
(with recouvre's answer) is then validated with openapi-core against the documents in
tests/contracts/maileva/. Nothing is mocked: real sandbox, real webhook app, real PostgreSQL
and Temporal.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.channel_activities import ChannelActivities
from activities.channel_requests import ChannelRequest, Recipient
from activities.registered_mail.maileva_client import MailevaClient, sending_custom_id
from activities.registered_mail.provider import (
    LetterAnomaly,
    LetterRejected,
    RegisteredMailError,
)
from activities.registered_mail.subscriptions import ensure_subscriptions
from sandboxes import SandboxHandle, start_sandbox_registered_mail
from storage.tables import registered_letters
from tests.contracts.openapi_traffic import Contract, Exchange, Recorder
from tests.registered_mail.conftest import (
    FAST,
    LOGIN,
    SECRET,
    eventually,
    formal_notice,
    webhook_app,
)
from tests.support.serving import serve

EXPECTED_OPERATIONS = {
    "POST /auth/realms/services/protocol/openid-connect/token",
    "GET /notification_center/v2/subscriptions",
    "POST /notification_center/v2/subscriptions",
    "GET /notification_center/v2/notifications",
    "POST /registered_mail/v4/sendings",
    "GET /registered_mail/v4/sendings",
    "GET /registered_mail/v4/sendings/{id}",
    "POST /registered_mail/v4/sendings/{id}/documents",
    "GET /registered_mail/v4/sendings/{id}/documents",
    "POST /registered_mail/v4/sendings/{id}/recipients",
    "GET /registered_mail/v4/sendings/{id}/recipients",
    "POST /registered_mail/v4/sendings/{id}/submit",
    "GET /registered_mail/v4/sendings/{id}/recipients/{id}/download_deposit_proof",
    "GET /registered_mail/v4/sendings/{id}/recipients/{id}/download_content_proof",
    "GET /registered_mail/v4/sendings/{id}/recipients/{id}/download_acknowledgement_of_receipt",
    "GET /registered_mail/v4/sendings/{id}/recipients/{id}/download_undelivered_mail",
    "POST /v1/webhooks/registered-mail",
}
DELIVERED_EVENTS = {
    "ON_STATUS_ACCEPTED",
    "ON_STATUS_PROCESSED",
    "ON_DEPOSIT_PROOF_RECEIVED",
    "ON_CONTENT_PROOF_RECEIVED",
    "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION",
    "ON_MAIN_DELIVERY_STATUS_DELIVERED",
    "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED",
}
RETURNED_EVENTS = {
    "ON_STATUS_ACCEPTED",
    "ON_STATUS_PROCESSED",
    "ON_DEPOSIT_PROOF_RECEIVED",
    "ON_CONTENT_PROOF_RECEIVED",
    "ON_MAIN_DELIVERY_STATUS_UNDELIVERED",
    "ON_UNDELIVERED_MAIL_RECEIVED",
}
REJECTED_EVENTS = {"ON_STATUS_REJECTED"}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def recorded_sandbox(recorder: Recorder) -> Iterator[SandboxHandle]:
    handle = start_sandbox_registered_mail(
        secret=SECRET, schedule=FAST, event_hooks=recorder.hooks("sandbox")
    )
    yield handle
    handle.stop()


def letter_request(name: str) -> ChannelRequest:
    recipient = Recipient(name=name, address_lines=["12 rue de la Paix", "75002 Paris"])
    return formal_notice(f"case-{uuid.uuid4().hex[:12]}", recipient)


async def notified_events(
    client: MailevaClient, base: str, event_of: dict[str, str]
) -> dict[str, set[str]]:
    """resource_custom_data (the letter's key) -> event types (by subscription) that
    notification_center's ``GET /notifications`` shows as SENT."""
    answer = await client.call(
        "GET", f"{base}/notification_center/v2/notifications", params={"count": 500}
    )
    sent: dict[str, set[str]] = {}
    for item in answer.json()["notifications"]:
        if item["status"] == "SENT":
            events = sent.setdefault(str(item.get("resource_custom_data")), set())
            events.add(event_of[item["subscription_id"]])
    return sent


def callbacks(exchanges: list[Exchange]) -> list[Exchange]:
    return [e for e in exchanges if e.by == "sandbox" and e.path == "/v1/webhooks/registered-mail"]


async def test_client_sandbox_and_callbacks_follow_the_published_documents(
    engine: AsyncEngine,
    dev_env: WorkflowEnvironment,
    database_url: str,
    recorder: Recorder,
    recorded_sandbox: SandboxHandle,
) -> None:
    sandbox = recorded_sandbox
    async with httpx.AsyncClient(timeout=30, event_hooks=recorder.hooks("client")) as http:
        client = MailevaClient(sandbox.settings(), http=http)
        async with serve(webhook_app(database_url, dev_env, client)) as base_url:
            webhook = f"{base_url}/v1/webhooks/registered-mail"
            settings = sandbox.settings().model_copy(update={"webhook_url": webhook})
            first = await ensure_subscriptions(settings, http)
            assert {c.action for c in first.checks} == {"created"}
            second = await ensure_subscriptions(settings, http)
            assert {c.action for c in second.checks} == {"unchanged"} and not second.changed

            activities = ChannelActivities(engine, registered_mail=client)
            requests = {
                "delivered": letter_request("Durand SARL"),
                "returned": letter_request("Petit EURL NPAI"),
                "rejected": letter_request("Bernard SA REJET"),
            }
            for request in requests.values():
                await ActivityEnvironment().run(activities.send_registered_letter, request)
            key = requests["delivered"].idempotency_key
            found = await client.find_sending(sending_custom_id(key))  # the crash-time search
            assert found is not None

            # documented refusals: 400 errors_response, 404 and 401 error_response
            with pytest.raises(LetterRejected):
                await client.call(
                    "POST",
                    f"/sendings/{found['id']}/recipients",
                    ok=(201,),
                    json={"address_line_1": "x", "address_line_6": "Paris", "country_code": "FR"},
                )
            with pytest.raises(RegisteredMailError):
                await client.get_sending(str(uuid.uuid4()))
            await http.get(
                f"{sandbox.url}/registered_mail/v4/sendings",
                headers={"Authorization": "Bearer not-a-token"},
            )
            wrong = sandbox.settings().model_copy(update={"password": "wrong"})
            with pytest.raises(RegisteredMailError, match="401"):
                await MailevaClient(wrong, http=http).get_sending(str(found["id"]))

            wanted = {
                requests["delivered"].idempotency_key: DELIVERED_EVENTS,
                requests["returned"].idempotency_key: RETURNED_EVENTS,
                requests["rejected"].idempotency_key: REJECTED_EVENTS,
            }

            def complete(sent: dict[str, set[str]]) -> bool:
                return all(events <= sent.get(k, set()) for k, events in wanted.items())

            event_of = {str(c.subscription_id): c.event_type for c in first.checks}
            await eventually(
                lambda: notified_events(client, sandbox.url, event_of), complete, within=30
            )

    async with engine.connect() as conn:
        rejected = (
            await conn.execute(
                select(registered_letters).where(
                    registered_letters.c.idempotency_key == requests["rejected"].idempotency_key
                )
            )
        ).one()
    assert rejected.status == "rejected", "the callback's read-back classified the rejection"
    assert rejected.status_history[-1]["reason"] == LetterAnomaly.REJECTED.reason

    contract = Contract(sandbox.url, sandbox.auth_url, webhook)
    exchanges = list(recorder.exchanges)
    problems = [problem for exchange in exchanges for problem in contract.problems(exchange)]
    assert problems == [], "\n".join(problems)

    shapes = {exchange.shape for exchange in exchanges}
    assert shapes >= EXPECTED_OPERATIONS, sorted(EXPECTED_OPERATIONS - shapes)
    listing = [e for e in exchanges if e.shape == "GET /registered_mail/v4/sendings"]
    assert all(set(httpx.URL(e.url).params.keys()) <= {"start_index", "count"} for e in listing), (
        "only the documented parameters of get-all-sendings"
    )
    token_calls = [e for e in exchanges if e.url == sandbox.auth_url]
    assert token_calls and all(not e.url.startswith(sandbox.url) for e in token_calls)

    emitted = callbacks(exchanges)
    assert emitted, "the sandbox called the webhook"
    expected_auth = "Basic " + base64.b64encode(f"{LOGIN}:{SECRET}".encode()).decode()
    assert all(e.request_headers.get("authorization") == expected_auth for e in emitted)
    assert all(e.status == 201 for e in emitted), [(e.status, e.response_body) for e in emitted]
