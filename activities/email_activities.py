"""The email channel: renders a reminder and sends it over SMTP, once per idempotency key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_activities import channel_outbox
from activities.email_layout import html_body, payment_url, text_body
from activities.email_request import EmailReceipt, EmailRequest
from activities.email_templates import french_amount, french_date, render_email
from activities.registered_mail.letter_pdf import render_letter_pdf
from services.db.tables import deliveries


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    creditor_name: str = ""
    payment_instructions: str = ""
    payment_link: str = ""
    """e.g. https://pay.example/{invoice_number}?amount={amount}; empty: no link."""


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The same key always yields the same Message-ID, so receivers can spot a resend."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class EmailActivities:
    """Activities of the email channel, given their SMTP relay and database in the constructor."""

    def __init__(self, smtp: SmtpSettings, engine: AsyncEngine) -> None:
        self._smtp = smtp
        self._engine = engine

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailRequest) -> EmailReceipt:
        """Send one step's email unless its idempotency key was already sent.

        The ledger row is locked for the whole send, so two concurrent attempts
        cannot both send; a row marked ``sent`` makes every later attempt a no-op.
        """
        try:
            rendered = render_email(request.template, self._context(request))
        except LookupError as err:  # a policy naming a missing template: retrying cannot help
            raise ApplicationError(str(err), type="TemplateNotFound", non_retryable=True) from err
        domain = self._smtp.sender.rpartition("@")[2] or "recouvre.local"
        message_id = message_id_for(request.idempotency_key, domain)
        body_hash = hashlib.sha256(rendered.body.encode()).hexdigest()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(deliveries)
                .values(
                    idempotency_key=request.idempotency_key,
                    case_id=request.case_id,
                    step=request.step,
                    channel="email",
                    recipient=request.to,
                    subject=rendered.subject,
                    message_id=message_id,
                    body_sha256=body_hash,
                    body=rendered.body,
                    status="pending",
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            row = (
                await conn.execute(
                    select(deliveries)
                    .where(deliveries.c.idempotency_key == request.idempotency_key)
                    .with_for_update()
                )
            ).one()
            if row.status == "sent":
                activity.logger.info("email %s already sent; not sending again", message_id)
                return EmailReceipt(
                    message_id=row.message_id,
                    recipient=row.recipient,
                    subject=row.subject,
                    sent_at=row.sent_at,
                    duplicate=True,
                )
            sent_at = datetime.now(UTC)
            message = self._message(request, rendered.subject, rendered.body, message_id, sent_at)
            if request.attach_document:
                await self._attach(conn, message, request.attach_document, request.invoice_number)
            await self._deliver(message)
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.idempotency_key == request.idempotency_key)
                .values(status="sent", sent_at=sent_at)
            )
        return EmailReceipt(
            message_id=message_id,
            recipient=request.to,
            subject=rendered.subject,
            sent_at=sent_at,
            duplicate=False,
        )

    def _context(self, request: EmailRequest) -> dict[str, object]:
        return {
            "invoice_number": request.invoice_number,
            "issue_date": french_date(request.issue_date),
            "due_date": french_date(request.due_date),
            "amount_due": french_amount(request.amount_due, request.currency),
            "balance": french_amount(request.balance, request.currency),
            "debtor_name": request.debtor_name,
            "debtor_kind": request.debtor_kind,
            "creditor_name": self._smtp.creditor_name,
            "payment_instructions": self._smtp.payment_instructions,
        }

    def _message(
        self, request: EmailRequest, subject: str, body: str, message_id: str, sent_at: datetime
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._smtp.sender
        message["To"] = request.to
        message["Subject"] = subject
        message["Message-ID"] = message_id
        message["Date"] = format_datetime(sent_at)
        message["X-Recouvre-Case"] = request.case_id
        message["X-Recouvre-Step"] = request.step
        url = payment_url(
            self._smtp.payment_link,
            request.invoice_number,
            str(request.balance),
            request.case_id,
        )
        message.set_content(text_body(body, url))
        message.add_alternative(html_body(body, url), subtype="html")
        return message

    async def _attach(
        self, conn: AsyncConnection, message: EmailMessage, key: str, invoice_number: str
    ) -> None:
        """Attach a channel document as the PDF the debtor also receives by post."""
        row = (
            await conn.execute(
                select(channel_outbox).where(channel_outbox.c.idempotency_key == key)
            )
        ).first()
        if row is None:  # the letter's own step failed: send the email without it, say so
            activity.logger.warning("document %s not found; email sent without attachment", key)
            return
        pdf = render_letter_pdf(
            row.body, title=f"{row.step} {invoice_number}", reference=row.reference,
            created_at=row.created_at,
        )  # fmt: skip
        message.add_attachment(
            pdf,
            maintype="application",
            subtype="pdf",
            filename=f"{row.step}-{invoice_number}.pdf",
        )

    async def _deliver(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._smtp.host,
                port=self._smtp.port,
                username=self._smtp.username or None,
                password=self._smtp.password or None,
                start_tls=self._smtp.starttls,
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise ApplicationError(
                f"recipient refused: {err.recipients}", type="InvalidRecipient", non_retryable=True
            ) from err
