"""Read what the real SMTP server received."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

from services.embedded.mailbox_server import read_mailbox


def messages_for_case(maildir: Path, case_id: str) -> list[EmailMessage]:
    return [m for m in read_mailbox(maildir) if m["X-Recouvre-Case"] == case_id]


async def wait_for_messages(
    maildir: Path, case_id: str, count: int, within_s: float = 30.0
) -> list[EmailMessage]:
    """Poll the Maildir until ``count`` messages for the case arrived (or fail with what came)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = messages_for_case(maildir, case_id)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a received email."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    content: str = part.get_content()
    return content
