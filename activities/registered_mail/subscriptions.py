"""The notification subscriptions recouvre needs at Maileva, made and checked at start-up.

Maileva calls a callback URL only for the (event type, resource type) pairs subscribed to
(notification_center v2.8, ``POST /subscriptions``), with the subscription's
``authentication`` (here Basic: ``REGISTERED_MAIL_WEBHOOK_LOGIN`` and
``REGISTERED_MAIL_WEBHOOK_SECRET``). ``ensure_subscriptions`` makes the set exist exactly once
for recouvre's callback URL and says what it did; calling it again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.provider import LetterRejected, RegisteredMailError
from activities.registered_mail.settings import RegisteredMailSettings

SENDING_EVENTS = ("ON_STATUS_ACCEPTED", "ON_STATUS_REJECTED", "ON_STATUS_PROCESSED")
RECIPIENT_EVENTS = (
    "ON_DEPOSIT_PROOF_RECEIVED",
    "ON_CONTENT_PROOF_RECEIVED",
    "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED",
    "ON_UNDELIVERED_MAIL_RECEIVED",
    "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION",
    "ON_MAIN_DELIVERY_STATUS_DELIVERED",
    "ON_MAIN_DELIVERY_STATUS_UNDELIVERED",
)
"""The registered_mail/v4 events of notification_center's table (its "Maileva LREL" part)."""
OPTIONAL_SENDING_EVENTS = ("ON_STATUS_PROCESSED_WITH_ERRORS",)
"""In the event_type enumeration but not in the v4 table: asked for, and a refusal is
reported rather than raised (polling finds the status anyway)."""
PAGE_SIZE = 500

Action = Literal["created", "updated", "unchanged", "refused"]


class SubscriptionError(RegisteredMailError):
    """The subscriptions could not be made or are not all there afterwards."""


@dataclass(frozen=True)
class SubscriptionCheck:
    event_type: str
    resource_type: str
    action: Action
    subscription_id: str | None = None
    detail: str = ""


@dataclass
class SubscriptionReport:
    """What ``ensure_subscriptions`` found and did, one entry per wanted subscription."""

    callback_url: str
    checks: list[SubscriptionCheck] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Ids of duplicate subscriptions to the same URL, deleted."""
    foreign: list[dict[str, Any]] = field(default_factory=list)
    """Subscriptions to the same events with another callback URL: left alone (another
    application of the account, or an old URL to remove by hand)."""

    @property
    def changed(self) -> bool:
        return self.removed != [] or any(c.action in ("created", "updated") for c in self.checks)


def wanted_subscriptions(settings: RegisteredMailSettings) -> list[tuple[str, str, bool]]:
    """(event type, resource type, required) for the configured API version."""
    api = settings.api_path.strip("/")  # registered_mail/v4
    return [
        *((event, f"{api}/sendings", True) for event in SENDING_EVENTS),
        *((event, f"{api}/sendings", False) for event in OPTIONAL_SENDING_EVENTS),
        *((event, f"{api}/recipients", True) for event in RECIPIENT_EVENTS),
    ]


def _authentication(settings: RegisteredMailSettings) -> dict[str, Any]:
    return {"basic": {"login": settings.webhook_login, "password": settings.webhook_secret}}


async def _all(client: MailevaClient, base: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        response = await client.call(
            "GET", f"{base}/subscriptions", params={"start_index": start, "count": PAGE_SIZE}
        )
        page = list(response.json().get("subscriptions", []))
        found.extend(dict(s) for s in page)
        start += len(page)
        if len(page) < PAGE_SIZE:
            return found


async def ensure_subscriptions(
    settings: RegisteredMailSettings, http: httpx.AsyncClient
) -> SubscriptionReport:
    """Make every notification subscription recouvre needs exist once, pointing at
    ``REGISTERED_MAIL_WEBHOOK_URL`` with the Basic credentials the webhook expects, then
    check they are all there. Idempotent: a second call reports everything ``unchanged``.

    Raises ``ValueError`` when the callback URL or its password is not configured, and
    ``SubscriptionError`` (a ``RegisteredMailError``) when the provider refuses a required
    subscription or cannot be reached."""
    if not settings.webhook_url or not settings.webhook_secret:
        raise ValueError(
            "REGISTERED_MAIL_WEBHOOK_URL and REGISTERED_MAIL_WEBHOOK_SECRET are required to "
            "subscribe to the provider's notifications"
        )
    client = MailevaClient(settings, http=http)
    base = settings.provider_url.rstrip("/") + "/" + settings.notification_path.strip("/")
    url = settings.webhook_url
    authentication = _authentication(settings)
    report = SubscriptionReport(callback_url=url)
    try:
        existing = await _all(client, base)
        for event, resource, required in wanted_subscriptions(settings):
            same = [
                s
                for s in existing
                if s.get("event_type") == event and s.get("resource_type") == resource
            ]
            mine = [s for s in same if s.get("callback_url") == url]
            report.foreign.extend(s for s in same if s.get("callback_url") != url)
            if mine:
                keep, *extra = mine
                for duplicate in extra:
                    await client.call(
                        "DELETE", f"{base}/subscriptions/{duplicate['id']}", ok=(204,)
                    )
                    report.removed.append(str(duplicate["id"]))
                if keep.get("authentication") == authentication:
                    report.checks.append(
                        SubscriptionCheck(event, resource, "unchanged", str(keep["id"]))
                    )
                    continue
                await client.call(
                    "PATCH",
                    f"{base}/subscriptions/{keep['id']}",
                    content=_json({"callback_url": url, "authentication": authentication}),
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                report.checks.append(SubscriptionCheck(event, resource, "updated", str(keep["id"])))
                continue
            body = {
                "event_type": event,
                "resource_type": resource,
                "callback_url": url,
                "authentication": authentication,
            }
            try:
                response = await client.call("POST", f"{base}/subscriptions", ok=(201,), json=body)
            except LetterRejected as err:
                if required:
                    raise SubscriptionError(f"{event} on {resource} refused: {err}") from err
                report.checks.append(SubscriptionCheck(event, resource, "refused", None, str(err)))
                continue
            created = str(response.json().get("id", ""))
            report.checks.append(SubscriptionCheck(event, resource, "created", created or None))
        after = await _all(client, base)
    except SubscriptionError:
        raise
    except RegisteredMailError as err:
        raise SubscriptionError(f"notification subscriptions not made: {err}") from err
    present = {
        (s.get("event_type"), s.get("resource_type")) for s in after if s.get("callback_url") == url
    }
    missing = [
        f"{event} on {resource}"
        for event, resource, required in wanted_subscriptions(settings)
        if required and (event, resource) not in present
    ]
    if missing:
        raise SubscriptionError(f"subscriptions missing after creation: {', '.join(missing)}")
    return report


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()
