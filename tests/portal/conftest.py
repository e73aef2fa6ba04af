"""The portal in Chromium: the console's browser fixtures (Debian's Chromium, headless,
against the session's real service), and the links of the reminders the tests read."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.console.conftest import browser, context, page, screenshot
from tests.support.mailbox import text_of
from tests.support.service import Service

LINK = re.compile(r"Payer en ligne : (\S+)")

__all__ = ["browser", "context", "page", "portal_link", "screenshot"]


def portal_link(service: Service, message: EmailMessage) -> str:
    """The portal address a reminder carries, on the host the tests serve. The mails name
    RECOUVRE_PORTAL_BASE_URL (a fixed http://portal.test: the worker's settings are made
    before the server has a port); only the host is swapped, the token is the mail's."""
    found = LINK.search(text_of(message))
    assert found is not None, "the reminder carries no portal link"
    link = found[1]
    base = service.settings.portal_base_url
    assert link.startswith(f"{base}/portail/"), link
    return service.base_url + link[len(base) :]
