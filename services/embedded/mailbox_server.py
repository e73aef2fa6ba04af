"""A real SMTP server for the embedded default: every message it accepts lands in a Maildir."""

from __future__ import annotations

import mailbox
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """aiosmtpd handler storing each accepted message, as received, in a Maildir."""

    def __init__(self, path: Path, refuse_domains: tuple[str, ...] = ()) -> None:
        self.maildir = open_maildir(path)
        self.refuse_domains = tuple(d.lower() for d in refuse_domains)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Refuse the configured domains as a real relay refuses an unknown one: how a
        permanent failure (a bounce at RCPT) can be produced without the Internet."""
        domain = address.lower().rstrip(">").rpartition("@")[2]
        if domain in self.refuse_domains:
            return "550 5.1.2 Bad destination mailbox address: no such domain"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.maildir.add(message)
        return "250 Message accepted for delivery"


def start_mailbox_server(
    path: Path,
    host: str = "127.0.0.1",
    port: int = 8025,
    refuse_domains: tuple[str, ...] = (),
) -> Controller:
    """Start the SMTP server in its own thread; call ``.stop()`` on the result to stop it.
    Mail to ``refuse_domains`` is refused at RCPT (550), like an unknown domain."""
    controller = Controller(MaildirHandler(path, refuse_domains), hostname=host, port=port)
    controller.start()
    return controller


def open_maildir(path: Path) -> mailbox.Maildir:
    """The Maildir at ``path``, with its tmp/new/cur folders created if missing."""
    for folder in ("tmp", "new", "cur"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, factory=None, create=False)


def read_mailbox(path: Path) -> list[EmailMessage]:
    """Every message in the Maildir, oldest first."""
    box = open_maildir(path)
    messages = [
        message_from_bytes(box.get_bytes(key), policy=default_policy)
        for key in box.keys()  # noqa: SIM118 (iterating a Maildir yields messages, not keys)
    ]
    parsed = [m for m in messages if isinstance(m, EmailMessage)]
    return sorted(parsed, key=lambda m: parsedate_to_datetime(str(m["Date"])))
