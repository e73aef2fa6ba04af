"""The registered-mail channel against the sandbox provider, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from activities.channel_requests import ChannelRequest, Recipient
from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.settings import DEFAULT_WEBHOOK_LOGIN
from inbound.registered_mail_notifications import (
    RegisteredMailWebhook,
    get_registered_mail_webhook,
    router,
)
from sandboxes import SandboxHandle, SandboxSchedule, start_sandbox_registered_mail
from services.api.app import create_app
from services.config import Settings
from tests.support.serving import serve

SECRET = "test-webhook-secret-0123456789"
"""The password of the subscriptions' Basic authentication."""
LOGIN = DEFAULT_WEBHOOK_LOGIN
FAST = SandboxSchedule(deposit_after=0.3, present_after=0.6, outcome_after=0.9)
DEBTOR = Recipient(
    name="Durand SARL",
    email="compta@durand.example",
    address_lines=["12 rue de la Paix", "75002 Paris"],
)
CONTEXT: dict[str, str] = {
    "creditor_name": "Créancier Test SAS",
    "creditor_address": "1 avenue des Tests\n69001 Lyon",
    "document_date": "05/12/2026",
    "invoice_number": "F-2026-0001",
    "issue_date": "01/10/2026",
    "due_date": "31/10/2026",
    "debtor_kind": "business",
    "principal": "1\u202f200,00\u00a0€",
    "paid": "",
    "balance": "1\u202f200,00\u00a0€",
    "penalties": "12,40\u00a0€",
    "indemnity": "40,00\u00a0€",
    "total": "1\u202f252,40\u00a0€",
    "payment_instructions": "par virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189",
    "deadline_days": "8",
}

T = TypeVar("T")


def formal_notice(case_id: str, recipient: Recipient = DEBTOR, **context: str) -> ChannelRequest:
    return ChannelRequest(
        idempotency_key=f"{case_id}/formal_notice/registered_letter",
        case_id=case_id,
        tenant="acme",
        step="formal_notice",
        channel="registered_letter",
        template="formal_notice@1",
        recipient=recipient,
        context={**CONTEXT, **context},
    )


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float = 10.0
) -> T:
    """Call ``probe`` until ``ok`` holds for its answer; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not there after {within} s: {value!r}")
        await asyncio.sleep(0.05)


def webhook_app(
    database_url: str, dev_env: WorkflowEnvironment, provider: MailevaClient
) -> FastAPI:
    """recouvre's API with the webhook router mounted, as app.py will mount it."""
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_RPC_TIMEOUT_S=3.0,
        RECOUVRE_API_KEYS="operator-key-registered-mail-0123=operator:acme",
    )
    app = create_app(settings)
    app.include_router(router)
    app.dependency_overrides[get_registered_mail_webhook] = lambda: RegisteredMailWebhook(
        secret=SECRET, provider=provider, login=LOGIN
    )
    return app


@pytest.fixture
async def webhook_url(
    database_url: str, dev_env: WorkflowEnvironment, mail_client: MailevaClient
) -> AsyncIterator[str]:
    """The webhook endpoint, served by uvicorn on loopback, reading back from the sandbox."""
    async with serve(webhook_app(database_url, dev_env, mail_client)) as base_url:
        yield f"{base_url}/v1/webhooks/registered-mail"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    """A sandbox provider with a fast schedule and no webhook."""
    handle = start_sandbox_registered_mail(secret=SECRET, schedule=FAST)
    yield handle
    handle.stop()


@pytest.fixture
async def mail_client(sandbox: SandboxHandle) -> AsyncIterator[MailevaClient]:
    async with MailevaClient(sandbox.settings()) as client:
        yield client
