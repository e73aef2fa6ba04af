"""Registered letters with acknowledgement of receipt (LRAR) through a provider (Maileva).

- ``provider``: the ``RegisteredMailProvider`` protocol and its value types (``LetterAnomaly``,
  ``UnsupportedCountry``, ``SendJournal``);
- ``maileva_client``: the Maileva implementation (httpx);
- ``subscriptions``: ``ensure_subscriptions``, the notification subscriptions at start-up;
- ``letter_pdf``: the formal notice as a PDF;
- ``dispatch``: what ``send_registered_letter`` does with a provider (exactly once per key);
- ``tracking``: notifications and polling bring a posted letter's status and proofs back;
- ``settings``: ``RegisteredMailSettings`` from the environment (REGISTERED_MAIL_*).
"""

from __future__ import annotations

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.provider import (
    DeliveryEvent,
    Letter,
    LetterAnomaly,
    LetterRejected,
    LetterStatus,
    MemoryJournal,
    PostalAddress,
    Proof,
    RegisteredMailError,
    RegisteredMailProvider,
    SendJournal,
    UnsupportedCountry,
)
from activities.registered_mail.settings import RegisteredMailSettings
from activities.registered_mail.subscriptions import (
    SubscriptionError,
    SubscriptionReport,
    ensure_subscriptions,
)


def provider_from_settings(settings: RegisteredMailSettings) -> RegisteredMailProvider | None:
    """The configured provider, or None when REGISTERED_MAIL_PROVIDER_URL is empty."""
    return MailevaClient(settings) if settings.enabled else None


__all__ = [
    "DeliveryEvent",
    "Letter",
    "LetterAnomaly",
    "LetterRejected",
    "LetterStatus",
    "MailevaClient",
    "MemoryJournal",
    "PostalAddress",
    "Proof",
    "RegisteredMailError",
    "RegisteredMailProvider",
    "RegisteredMailSettings",
    "SendJournal",
    "SubscriptionError",
    "SubscriptionReport",
    "UnsupportedCountry",
    "ensure_subscriptions",
    "provider_from_settings",
]
