"""The email channel: renders a reminder and sends it over SMTP, once per idempotency key."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_requests import Recipient
from activities.channel_templates import InvalidContextValue, MissingContextKeys
from activities.debtor_resolution import resolved_email
from activities.email_layout import html_body, payment_url, text_body
from activities.email_request import EmailReceipt, EmailRequest
from activities.email_templates import RenderedEmail, french_amount, french_date, render_email
from activities.grouped_email_request import GroupedEmailRequest
from activities.letter_layout.amounts import LetterContextError
from activities.letter_layout.builder import build_letter_document
from activities.letter_layout.render import render_letter_pdf
from activities.letter_layout.settings import LetterheadSettings
from activities.letter_layout.stored import printed_pdf
from activities.portal_link import PortalLinks
from storage.debtor_vault import FILE_PURPOSE, DebtorErased, DebtorVault
from storage.tables import case_files, channel_outbox, deliveries

SENDING, SENT, RESENT = "sending", "sent", "resent"
"""Ledger states: DATA under way (outcome unknown if the attempt died); sent once; sent
again after an attempt died during DATA (same Message-ID: a possible duplicate)."""
SENT_STATES = (SENT, RESENT)
DATABASE_DOWN = (OperationalError, InterfaceError, OSError)
LOCK_SPACE = 0x4D41494C  # advisory-lock namespace of the email ledger ("MAIL")


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
    portal: PortalLinks | None = None
    """The debtor portal (RECOUVRE_PORTAL_BASE_URL): when set, a message to a vault debtor
    links to the debtor's own portal page instead of ``payment_link``."""


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The same key always yields the same Message-ID, so receivers can spot a resend."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class EmailActivities:
    """Activities of the email channel, given their SMTP relay and database in the constructor."""

    def __init__(
        self, smtp: SmtpSettings, engine: AsyncEngine, vault: DebtorVault | None = None
    ) -> None:
        """``vault`` opens the debtor's address for requests that name the debtor by id."""
        self._smtp = smtp
        self._engine = engine
        self._vault = vault

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailRequest) -> EmailReceipt:
        """Send one step's email unless its idempotency key was already sent.

        An advisory lock on the key is held for the whole send, so two concurrent
        attempts cannot both send; a row marked ``sent`` (or ``resent``) makes every later
        attempt a no-op. The row is committed as ``sending`` just before DATA and as
        ``sent`` right after the server's 250, before QUIT: an attempt that dies between
        those two commits leaves ``sending``, and its retry sends again with the same
        Message-ID and records ``resent`` (see docs/architecture.md, exactly-once).
        """
        shown_as = request.to  # what the case records: a placeholder for vault debtors
        async with self._engine.connect() as conn:
            request = await resolved_email(self._vault, conn, request)
        try:
            rendered = render_email(request.template, self._context(request))
        except LookupError as err:  # a policy naming a missing template: retrying cannot help
            raise ApplicationError(str(err), type="TemplateNotFound", non_retryable=True) from err
        domain = self._smtp.sender.rpartition("@")[2] or "recouvre.local"
        async with self._engine.connect() as conn:
            await _lock_key(conn, request.idempotency_key)
            try:
                receipt = await self._send_locked(conn, request, rendered, domain)
                return receipt.model_copy(update={"recipient": shown_as})
            finally:
                await _unlock_key(conn, request.idempotency_key)

    @activity.defn(name="send_grouped_email")
    async def send_grouped_email(self, request: GroupedEmailRequest) -> EmailReceipt:
        """One message to a debtor listing several invoices' reminders, once per key.

        The message is sent under its own key (``<debtor>/contact/<n>``) with the same
        ledger protocol as ``send_email``; then each invoice's reminder is recorded under
        its own key (``<case>/<step>``) with the same Message-ID, so every case's dossier
        holds the message and a later send under an invoice's key finds it already sent."""
        first = request.items[0]
        async with self._engine.connect() as conn:
            resolved = await resolved_email(self._vault, conn, first)
        context: dict[str, object] = {
            **self._context(resolved),
            "items": [self._item(item, amounts) for item, amounts in self._paired(request)],
            "balance_total": french_amount(
                sum((item.balance for item in request.items), Decimal(0)), first.currency
            ),
            "total": french_amount(
                sum(request.line_totals, Decimal(0))
                if request.line_totals
                else sum((item.balance for item in request.items), Decimal(0)),
                first.currency,
            ),
        }
        try:
            rendered = render_email(request.template, context)
        except LookupError as err:
            raise ApplicationError(str(err), type="TemplateNotFound", non_retryable=True) from err
        carrier = resolved.model_copy(
            update={"idempotency_key": request.idempotency_key, "step": "grouped"}
        )
        domain = self._smtp.sender.rpartition("@")[2] or "recouvre.local"
        async with self._engine.connect() as conn:
            await _lock_key(conn, request.idempotency_key)
            try:
                receipt = await self._send_locked(conn, carrier, rendered, domain)
            finally:
                await _unlock_key(conn, request.idempotency_key)
        await self._record_items(request, carrier, rendered, receipt)
        return receipt.model_copy(update={"recipient": first.to})

    @staticmethod
    def _paired(request: GroupedEmailRequest) -> list[tuple[EmailRequest, dict[str, str]]]:
        amounts = [*request.amounts, *([{}] * (len(request.items) - len(request.amounts)))]
        return list(zip(request.items, amounts, strict=True))

    @staticmethod
    def _item(item: EmailRequest, amounts: dict[str, str]) -> dict[str, str]:
        balance = french_amount(item.balance, item.currency)
        return {
            "invoice_number": item.invoice_number,
            "issue_date": french_date(item.issue_date),
            "due_date": french_date(item.due_date),
            "balance": balance,
            "penalties": amounts.get("penalties", ""),
            "indemnity": amounts.get("indemnity", ""),
            "total": amounts.get("total", "") or balance,
        }

    async def _record_items(
        self,
        request: GroupedEmailRequest,
        carrier: EmailRequest,
        rendered: RenderedEmail,
        receipt: EmailReceipt,
    ) -> None:
        """Each invoice's row in the ledger, as sent by the grouped message (idempotent)."""
        body_hash = hashlib.sha256(rendered.body.encode()).hexdigest()
        async with self._engine.begin() as conn:
            recipient, body = carrier.to, rendered.body
            if self._vault is not None and request.items[0].debtor_id is not None:
                seal, debtor = self._vault.seal_text, request.items[0].debtor_id
                recipient = await seal(conn, request.tenant, debtor, "mail", recipient)
                body = await seal(conn, request.tenant, debtor, "mail", body)
            for item in request.items:
                await conn.execute(
                    insert(deliveries)
                    .values(
                        idempotency_key=item.idempotency_key,
                        case_id=item.case_id,
                        step=item.step,
                        channel="email",
                        recipient=recipient,
                        subject=rendered.subject,
                        message_id=receipt.message_id,
                        body_sha256=body_hash,
                        body=body,
                        status=RESENT if receipt.resent else SENT,
                        sent_at=receipt.sent_at,
                    )
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                )

    async def _send_locked(
        self, conn: AsyncConnection, request: EmailRequest, rendered: RenderedEmail, domain: str
    ) -> EmailReceipt:
        key = request.idempotency_key
        query = select(deliveries).where(deliveries.c.idempotency_key == key)
        row = (await conn.execute(query)).first()
        await conn.commit()
        if row is not None and row.status in SENT_STATES:
            activity.logger.info("email %s already sent; not sending again", key)
            return EmailReceipt(
                message_id=row.message_id,
                recipient=row.recipient,
                subject=row.subject,
                sent_at=row.sent_at,
                duplicate=True,
                resent=row.status == RESENT,
            )
        uncertain = row is not None and row.status == SENDING
        # The ledger's Message-ID, if any: a resend must carry the first one.
        message_id = row.message_id if row else message_id_for(key, domain)
        sent_at = datetime.now(UTC)
        message = self._message(request, rendered.subject, rendered.body, message_id, sent_at)
        if request.attach_document:
            await self._attach(conn, message, request, request.attach_document)
            await conn.commit()
        if request.attach_invoice_file:
            await self._attach_invoice_file(conn, message, request)
            await conn.commit()
        if request.attach_receipt is not None:
            self._attach_receipt(message, request, request.attach_receipt)
        async with self._session() as smtp:
            content = await self._envelope(smtp, message)  # MAIL, RCPT: refusable
            await self._mark_sending(conn, request, rendered, message_id)
            try:
                await smtp.data(content)
            except aiosmtplib.SMTPResponseException:  # refused at DATA: nothing delivered
                if row is None:
                    await self._forget(conn, key)
                raise
            await self._mark_sent(conn, key, RESENT if uncertain else SENT, sent_at)
        if uncertain:
            activity.logger.warning(
                "email %s sent again with Message-ID %s: an earlier attempt died after "
                "starting DATA (possible duplicate; receivers can drop it by Message-ID)",
                key,
                message_id,
            )
        return EmailReceipt(
            message_id=message_id,
            recipient=request.to,
            subject=rendered.subject,
            sent_at=sent_at,
            duplicate=False,
            resent=uncertain,
        )

    async def _mark_sending(
        self,
        conn: AsyncConnection,
        request: EmailRequest,
        rendered: RenderedEmail,
        message_id: str,
    ) -> None:
        """Commit the row as ``sending`` (the message is about to go out)."""
        recipient, body = request.to, rendered.body
        if request.debtor_id is not None and self._vault is not None:
            # The mail copy is the debtor's personal data: sealed with its data key.
            seal = self._vault.seal_text
            recipient = await seal(conn, request.tenant, request.debtor_id, "mail", recipient)
            body = await seal(conn, request.tenant, request.debtor_id, "mail", body)
        values = {
            "case_id": request.case_id,
            "step": request.step,
            "channel": "email",
            "recipient": recipient,
            "subject": rendered.subject,
            "message_id": message_id,
            "body_sha256": hashlib.sha256(rendered.body.encode()).hexdigest(),
            "body": body,
        }
        await conn.execute(
            insert(deliveries)
            .values(idempotency_key=request.idempotency_key, status=SENDING, **values)
            .on_conflict_do_update(index_elements=["idempotency_key"], set_={"status": SENDING})
        )
        await conn.commit()

    async def _mark_sent(self, conn: AsyncConnection, key: str, status: str, at: datetime) -> None:
        """Commit the row as sent. The server has the message now: if the database fails
        here, retrying this record (on fresh connections, while the attempt has time) is
        better than letting the activity's retry send the message again."""
        record = (
            update(deliveries)
            .where(deliveries.c.idempotency_key == key)
            .values(status=status, sent_at=at)
        )
        try:
            await conn.execute(record)
            await conn.commit()
            return
        except DATABASE_DOWN as err:
            activity.logger.warning("email %s sent; recording it failed (%s), retrying", key, err)
        deadline = time.monotonic() + _time_left()
        pause = 0.2
        while True:
            try:
                async with self._engine.begin() as fresh:
                    await fresh.execute(record)
                return
            except DATABASE_DOWN:
                if time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    async def _forget(self, conn: AsyncConnection, key: str) -> None:
        await conn.execute(delete(deliveries).where(deliveries.c.idempotency_key == key))
        await conn.commit()

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
        url = self._pay_url(request, sent_at)
        message.set_content(text_body(body, url))
        message.add_alternative(html_body(body, url), subtype="html")
        return message

    def _pay_url(self, request: EmailRequest, sent_at: datetime) -> str:
        """The "Payer en ligne" link: the debtor's portal (valid ``portal_link_days`` from
        the day sent) when configured and the debtor is known by id, else PAYMENT_LINK."""
        portal = self._smtp.portal
        if portal is not None and request.debtor_id is not None:
            return portal.url_for(request.tenant, request.debtor_id, sent_at.date())
        return payment_url(
            self._smtp.payment_link, request.invoice_number, str(request.balance), request.case_id
        )

    async def _attach(
        self, conn: AsyncConnection, message: EmailMessage, request: EmailRequest, key: str
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
        invoice_number = request.invoice_number
        body, layout = row.body, row.layout
        if self._vault is not None:
            body = await self._vault.open_text(
                conn, request.tenant, request.debtor_id, "outbox", body
            )
            if layout is not None:
                layout = await self._vault.open_text(
                    conn, request.tenant, request.debtor_id, "outbox", layout
                )
        pdf = printed_pdf(
            body, layout, title=f"{row.step} {invoice_number}", reference=row.reference,
            created_at=row.created_at,
        )  # fmt: skip
        message.add_attachment(
            pdf,
            maintype="application",
            subtype="pdf",
            filename=f"{row.step}-{invoice_number}.pdf",
        )

    def _attach_receipt(
        self, message: EmailMessage, request: EmailRequest, context: dict[str, str]
    ) -> None:
        """The payment receipt as a PDF (activities/letter_layout, ``payment_receipt@1``),
        addressed to the debtor by name (the identity opened above, never in history)."""
        values = {
            **context,
            "creditor_name": self._smtp.creditor_name,
            "creditor_address": context.get("creditor_address", ""),
            "payment_instructions": self._smtp.payment_instructions,
        }
        try:
            document = build_letter_document(
                "payment_receipt@1",
                values,
                Recipient(name=request.debtor_name or "Client"),
                reference=request.idempotency_key.rpartition("/")[0],
                letterhead=LetterheadSettings(),
            )
        except (MissingContextKeys, InvalidContextValue, LetterContextError) as err:
            # The thanks go out without their PDF rather than not at all.
            activity.logger.warning("%s: receipt not laid out (%s)", request.case_id, err)
            return
        except Exception:  # a letterhead setting it cannot use: no PDF, the thanks still go
            activity.logger.exception("%s: receipt not laid out", request.case_id)
            return
        try:
            pdf = render_letter_pdf(document)
        except Exception:  # WeasyPrint or its fonts missing here: the thanks still go
            activity.logger.exception("%s: receipt not rendered", request.case_id)
            return
        message.add_attachment(
            pdf,
            maintype="application",
            subtype="pdf",
            filename=f"recu-{request.invoice_number}.pdf",
        )

    async def _attach_invoice_file(
        self, conn: AsyncConnection, message: EmailMessage, request: EmailRequest
    ) -> None:
        """Attach the invoice as received (the e-invoice, or the PDF a JSON intake carried:
        table case_files), opened with the debtor's data key; none kept: nothing attached."""
        row = (
            await conn.execute(
                select(case_files)
                .where(
                    case_files.c.case_id == request.case_id,
                    case_files.c.tenant == request.tenant,
                    case_files.c.kind.in_(("einvoice", "invoice")),
                )
                .order_by(case_files.c.received_at)
                .limit(1)
            )
        ).first()
        if row is None:
            return
        content = bytes(row.content)
        if row.debtor_id is not None:
            if self._vault is None:
                activity.logger.warning("%s: invoice file sealed, no vault", request.case_id)
                return
            try:
                key = await self._vault.data_key(conn, request.tenant, row.debtor_id)
            except DebtorErased:
                return  # the file is unreadable for good: the email goes without it
            content = self._vault.open_with(
                key, request.tenant, row.debtor_id, FILE_PURPOSE, content
            )
        maintype, _, subtype = row.media_type.partition("/")
        extension = {"pdf": "pdf", "xml": "xml"}.get(subtype.split("+")[0], "bin")
        message.add_attachment(
            content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=f"facture-{request.invoice_number}.{extension}",
        )

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected SMTP session (STARTTLS, login as configured); QUIT at the end is
        best effort: by then the message is recorded."""
        client = aiosmtplib.SMTP(
            hostname=self._smtp.host,
            port=self._smtp.port,
            username=self._smtp.username or None,
            password=self._smtp.password or None,
            start_tls=self._smtp.starttls,
            timeout=30,
        )
        await client.connect()
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                await client.quit()
            client.close()

    async def _envelope(self, smtp: aiosmtplib.SMTP, message: EmailMessage) -> bytes:
        """MAIL FROM and RCPT TO (as aiosmtplib's send_message does), and the message as
        DATA will carry it. A refused recipient is permanent: nothing was sent."""
        sender = extract_sender(message) or self._smtp.sender
        recipients = extract_recipients(message)
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        utf8 = not (sender + "".join(recipients)).isascii()
        options = ["SMTPUTF8"] if utf8 else []
        eight_bit = smtp.supports_extension("8BITMIME")
        if eight_bit:
            options.append("BODY=8BITMIME")
        content = flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
        try:
            await smtp.mail(sender, options=options, encoding="utf-8" if utf8 else "ascii")
            for recipient in recipients:
                await smtp.rcpt(recipient, encoding="utf-8" if utf8 else "ascii")
        except aiosmtplib.SMTPRecipientRefused as err:
            raise ApplicationError(
                f"recipient refused: {err.recipient} ({err.code} {err.message})",
                type="InvalidRecipient",
                non_retryable=True,
            ) from err
        return content


async def _lock_key(conn: AsyncConnection, key: str) -> None:
    """A session-level advisory lock on the key: it survives the commits of the send and
    goes with the session if the worker dies (PostgreSQL ends the dead client's session)."""
    await conn.execute(text("SELECT pg_advisory_lock(:space, hashtext(:key))"), _lock_args(key))
    await conn.commit()


async def _unlock_key(conn: AsyncConnection, key: str) -> None:
    try:
        await conn.rollback()
        await conn.execute(
            text("SELECT pg_advisory_unlock(:space, hashtext(:key))"), _lock_args(key)
        )
        await conn.commit()
    except Exception:  # a broken session holds nothing; never pool one that might
        with contextlib.suppress(Exception):
            await conn.invalidate()


def _lock_args(key: str) -> dict[str, object]:
    return {"space": LOCK_SPACE, "key": key}


def _time_left() -> float:
    """Seconds this attempt may still use, less a margin, before Temporal retries it."""
    info = activity.info()
    if info.start_to_close_timeout is None:
        return 10.0
    end = info.started_time + info.start_to_close_timeout
    return max(0.0, (end - datetime.now(UTC)).total_seconds() - 1.0)
