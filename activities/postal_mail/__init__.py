"""Letters by simple post (e.g. the last amicable reminder) through a provider (Maileva "mail").

- ``provider``: the ``PostalMailProvider`` protocol and its value types (``SimpleLetter``,
  ``PostalLetterStatus``, ``UnsupportedPostalCountry``); addresses, journals and errors are
  the registered-mail channel's;
- ``maileva_mail_client``: the Maileva implementation (mail API v2, httpx), logged in through
  the registered-mail client;
- ``dispatch``: what ``send_letter`` does with a provider (``post_simple_letter``, exactly
  once per key) and ``refresh_postal_letter``;
- ``settings``: ``PostalMailSettings`` from the environment (POSTAL_MAIL_*, else the
  registered-mail account's host and login).
"""

from __future__ import annotations

from activities.postal_mail.dispatch import post_simple_letter, refresh_postal_letter
from activities.postal_mail.maileva_mail_client import MailevaMailClient
from activities.postal_mail.provider import (
    PostalLetterStatus,
    PostalMailProvider,
    SimpleLetter,
    UnsupportedPostalCountry,
)
from activities.postal_mail.settings import PostalMailSettings


def provider_from_settings(settings: PostalMailSettings) -> PostalMailProvider | None:
    """The configured provider, or None when no provider URL is set (POSTAL_MAIL_* nor
    REGISTERED_MAIL_*)."""
    return MailevaMailClient(settings) if settings.enabled else None


__all__ = [
    "MailevaMailClient",
    "PostalLetterStatus",
    "PostalMailProvider",
    "PostalMailSettings",
    "SimpleLetter",
    "UnsupportedPostalCountry",
    "post_simple_letter",
    "provider_from_settings",
    "refresh_postal_letter",
]
