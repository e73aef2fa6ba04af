"""Registered letters with acknowledgement of receipt (LRAR) through a provider (Maileva).

- ``provider``: the ``RegisteredMailProvider`` protocol and its value types;
- ``maileva_client``: the Maileva implementation (httpx);
- ``letter_pdf``: the formal notice as a PDF;
- ``dispatch``: what ``send_registered_letter`` does with a provider (exactly once per key);
- ``tracking``: notifications and polling bring a posted letter's status and proofs back;
- ``signature``: the webhook's HMAC-SHA256 signature;
- ``settings``: ``RegisteredMailSettings`` from the environment (REGISTERED_MAIL_*).
"""

from __future__ import annotations

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.provider import (
    DeliveryEvent,
    Letter,
    LetterRejected,
    LetterStatus,
    PostalAddress,
    Proof,
    RegisteredMailError,
    RegisteredMailProvider,
)
from activities.registered_mail.settings import RegisteredMailSettings


def provider_from_settings(settings: RegisteredMailSettings) -> RegisteredMailProvider | None:
    """The configured provider, or None when REGISTERED_MAIL_PROVIDER_URL is empty."""
    return MailevaClient(settings) if settings.enabled else None


__all__ = [
    "DeliveryEvent",
    "Letter",
    "LetterRejected",
    "LetterStatus",
    "MailevaClient",
    "PostalAddress",
    "Proof",
    "RegisteredMailError",
    "RegisteredMailProvider",
    "RegisteredMailSettings",
    "provider_from_settings",
]
