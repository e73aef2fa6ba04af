"""`ensure_subscriptions`: recouvre's notification subscriptions, made once, checked, and left
alone when already right (against the sandbox's notification_center)."""

from __future__ import annotations

import httpx
import pytest

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.subscriptions import (
    SubscriptionError,
    ensure_subscriptions,
    wanted_subscriptions,
)
from sandboxes import SandboxHandle
from tests.registered_mail.conftest import LOGIN, SECRET

CALLBACK = "https://recouvre.example/v1/webhooks/registered-mail"


async def subscriptions(client: MailevaClient, sandbox: SandboxHandle) -> list[dict[str, object]]:
    answer = await client.call(
        "GET", f"{sandbox.url}/notification_center/v2/subscriptions", params={"count": 500}
    )
    found: list[dict[str, object]] = answer.json()["subscriptions"]
    return found


async def test_subscriptions_are_made_once_with_basic_credentials(
    sandbox: SandboxHandle, mail_client: MailevaClient
) -> None:
    settings = sandbox.settings().model_copy(update={"webhook_url": CALLBACK})
    async with httpx.AsyncClient() as http:
        first = await ensure_subscriptions(settings, http)
        again = await ensure_subscriptions(settings, http)
    wanted = {(event, resource) for event, resource, _ in wanted_subscriptions(settings)}
    assert {(c.event_type, c.resource_type) for c in first.checks} == wanted
    assert {c.action for c in first.checks} == {"created"} and first.changed
    assert {c.action for c in again.checks} == {"unchanged"} and not again.changed
    made = await subscriptions(mail_client, sandbox)
    assert len(made) == len(wanted)
    assert all(s["callback_url"] == CALLBACK for s in made)
    assert all(s["authentication"] == {"basic": {"login": LOGIN, "password": SECRET}} for s in made)
    assert ("ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION", "registered_mail/v4/recipients") in {
        (s["event_type"], s["resource_type"]) for s in made
    }


async def test_a_new_password_is_patched_duplicates_removed_and_others_left_alone(
    sandbox: SandboxHandle, mail_client: MailevaClient
) -> None:
    settings = sandbox.settings().model_copy(update={"webhook_url": CALLBACK})
    center = f"{sandbox.url}/notification_center/v2/subscriptions"
    async with httpx.AsyncClient() as http:
        await ensure_subscriptions(settings, http)
        for url in (CALLBACK, "https://other.example/hook"):
            await mail_client.call(
                "POST",
                center,
                ok=(201,),
                json={
                    "event_type": "ON_STATUS_ACCEPTED",
                    "resource_type": "registered_mail/v4/sendings",
                    "callback_url": url,
                },
            )
        rotated = settings.model_copy(update={"webhook_secret": "a-new-password"})
        report = await ensure_subscriptions(rotated, http)
    assert {c.action for c in report.checks} == {"updated"}
    assert len(report.removed) == 1
    assert [s["callback_url"] for s in report.foreign] == ["https://other.example/hook"]
    made = await subscriptions(mail_client, sandbox)
    mine = [s for s in made if s["callback_url"] == CALLBACK]
    assert len(mine) == len(wanted_subscriptions(settings))
    assert all(s["authentication"]["basic"]["password"] == "a-new-password" for s in mine)  # type: ignore[index]


async def test_without_a_callback_url_or_with_a_provider_down_it_says_so(
    sandbox: SandboxHandle,
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="REGISTERED_MAIL_WEBHOOK_URL"):
            await ensure_subscriptions(sandbox.settings(), http)
        down = sandbox.settings().model_copy(
            update={"webhook_url": CALLBACK, "provider_url": "http://127.0.0.1:9"}
        )
        with pytest.raises(SubscriptionError):
            await ensure_subscriptions(down, http)
