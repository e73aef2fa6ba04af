"""A lost or expired link: a new one, sent to the address on file, never shown.

The form answers the same neutral sentence whatever was typed, and the search and the
sending happen after the answer (a background task), so neither the words nor the time
taken tell whether an address is known. The link goes only to the address the creditor
holds: typing someone else's address sends them their own link, nothing more.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from activities.portal_link import portal_token, portal_url
from projections.calendar import today
from services.api.deps import Runtime
from services.console.pages import day

log = logging.getLogger("recouvre.portal")
MAX_SCANNED = 20_000
"""Debtors of one tenant compared at most (identities are sealed: no index on email)."""


async def debtors_with_email(
    runtime: Runtime, tenants: list[str], email: str
) -> list[tuple[str, str, str]]:
    """(tenant, debtor_id, address on file) of every debtor whose identity on file has this
    address (compared without case)."""
    wanted = email.strip().lower()
    found: list[tuple[str, str, str]] = []
    async with runtime.reads.connect() as conn:
        for tenant in tenants:
            records = await runtime.debtors.records(conn, tenant)
            for record in records[:MAX_SCANNED]:
                identity = record.identity
                if (
                    identity is not None
                    and identity.email
                    and str(identity.email).lower() == wanted
                ):
                    found.append((tenant, record.debtor_id, str(identity.email)))
    return found


def _message(runtime: Runtime, to: str, url: str, until: str) -> EmailMessage:
    settings = runtime.settings
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = f"Votre lien vers votre dossier chez {settings.creditor_name}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message["X-Recouvre-Portal"] = "lost-link"
    message.set_content(
        "Bonjour,\n\n"
        f"Vous avez demandé un nouveau lien vers votre dossier chez {settings.creditor_name}.\n"
        f"Le voici ; il est valable jusqu'au {until} inclus :\n\n{url}\n\n"
        "Si vous n'avez rien demandé, ignorez ce message : le lien ne donne accès qu'à "
        "votre dossier et n'est envoyé qu'à cette adresse.\n"
    )
    return message


async def send_new_links(
    runtime: Runtime, secret: bytes, base_url: str, email: str, tenants: list[str]
) -> None:
    """Send a fresh link to each matching debtor; failures are logged (without the
    address: personal data stays out of the logs), never shown to the visitor."""
    try:
        matches = await debtors_with_email(runtime, tenants, email)
        settings = runtime.settings
        expires = today() + timedelta(days=settings.portal_link_days)
        host, port = settings.smtp_target
        for tenant, debtor_id, on_file in matches:
            url = portal_url(base_url, portal_token(secret, tenant, debtor_id, expires))
            await aiosmtplib.send(
                _message(runtime, on_file, url, day(expires)),
                hostname=host,
                port=port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                start_tls=settings.smtp_starttls,
                timeout=30,
            )
            log.info("portal: a new link sent to debtor %s of %s", debtor_id, tenant)
    except Exception:
        log.exception("portal: sending a new link failed")
