"""Hand a recorded formal notice to the registered-mail provider, exactly once per key.

Called by ``ChannelActivities.send_registered_letter`` after the outbox row is recorded:

1. the letter row (``registered_letters``, status ``pending``) is committed first, so a
   provider notification that arrives while the letter is being posted finds its letter;
2. under that row's lock, the provider is called with the letter's idempotency key and the
   sending id it returns is stored. A retry after a crash (even one after the provider
   accepted the letter) asks the provider again with the same key and gets the same sending;
   once the id is stored, a retry does not call the provider at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_requests import ChannelReceipt, ChannelRequest
from activities.registered_mail.letter_pdf import render_letter_pdf
from activities.registered_mail.provider import (
    Letter,
    LetterRejected,
    PostalAddress,
    RegisteredMailError,
    RegisteredMailProvider,
)
from storage.tables import channel_outbox, registered_letters

PENDING = "pending"
SUBMITTED = "submitted"


def letter_title(request: ChannelRequest) -> str:
    kind = "Mise en demeure" if request.template.startswith("formal_notice") else "Recommandé"
    invoice = request.context.get("invoice_number", "")
    return f"{kind} {invoice}".strip()


def build_letter(request: ChannelRequest, outbox_row: Any) -> Letter:
    """The letter for ``request``, from the text recorded in the outbox (the recorded body
    stands, as for every channel)."""
    title = letter_title(request)
    creditor = request.context.get("creditor_name", "") or "Créancier"
    creditor_lines = [
        line for line in request.context.get("creditor_address", "").splitlines() if line.strip()
    ]
    pdf = render_letter_pdf(
        outbox_row.body,
        title=title,
        reference=outbox_row.reference,
        created_at=outbox_row.created_at,
    )
    return Letter(
        idempotency_key=request.idempotency_key,
        case_id=request.case_id,
        title=title,
        recipient=PostalAddress(request.recipient.name, tuple(request.recipient.address_lines)),
        sender=PostalAddress(creditor, tuple(creditor_lines)),
        pdf=pdf,
        document_name=f"{request.step}.pdf",
    )


def _history_entry(status: str, source: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "at": datetime.now(UTC).isoformat(), "source": source, **extra}


def _workflow_id() -> str | None:
    return activity.info().workflow_id if activity.in_activity() else None


async def post_registered_letter(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    request: ChannelRequest,
    receipt: ChannelReceipt,
) -> ChannelReceipt:
    """Post the letter recorded for ``request`` (``receipt`` is the outbox's) and return a
    receipt whose reference is the provider's sending id."""
    async with engine.connect() as conn:
        outbox_row = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    letter = build_letter(request, outbox_row)
    async with engine.begin() as conn:
        await conn.execute(
            insert(registered_letters)
            .values(
                idempotency_key=request.idempotency_key,
                case_id=request.case_id,
                step=request.step,
                workflow_id=_workflow_id(),
                provider=provider.name,
                status=PENDING,
                status_history=[_history_entry(PENDING, "activity")],
                document_sha256=letter.pdf_sha256,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(registered_letters)
                .where(registered_letters.c.idempotency_key == request.idempotency_key)
                .with_for_update()
            )
        ).one()
        if row.provider_id is not None and row.status != PENDING:
            if activity.in_activity():
                activity.logger.info(
                    "registered letter %s already posted as %s %s; not posting again",
                    request.idempotency_key,
                    row.provider,
                    row.provider_id,
                )
            return _receipt(receipt, row.provider, row.provider_id, duplicate=True)
        provider_id = await _send(provider, letter)
        await conn.execute(
            update(registered_letters)
            .where(registered_letters.c.idempotency_key == request.idempotency_key)
            .values(
                provider_id=provider_id,
                status=SUBMITTED,
                submitted_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
                status_history=[
                    *row.status_history,
                    _history_entry(SUBMITTED, provider.name, provider_id=provider_id),
                ],
            )
        )
    return _receipt(receipt, provider.name, provider_id, duplicate=False)


async def _send(provider: RegisteredMailProvider, letter: Letter) -> str:
    try:
        return await provider.send(letter)
    except LetterRejected as err:
        if err.code.startswith("SENDER_"):
            kind = "InvalidSender"
        elif "ADDRESS" in err.code:
            kind = "InvalidRecipient"
        else:
            kind = "LetterRejected"
        raise ApplicationError(
            f"{provider.name} refused registered letter {letter.idempotency_key!r}: {err}",
            type=kind,
            non_retryable=True,
        ) from err
    except RegisteredMailError as err:
        raise ApplicationError(
            f"{provider.name} unavailable for {letter.idempotency_key!r}: {err}",
            type="RegisteredMailUnavailable",
        ) from err


def _receipt(
    recorded: ChannelReceipt, provider: str, provider_id: str, *, duplicate: bool
) -> ChannelReceipt:
    return ChannelReceipt(
        reference=provider_id,
        recorded_at=recorded.recorded_at,
        duplicate=recorded.duplicate and duplicate,
        summary=f"{recorded.summary} [{provider} {provider_id}]",
    )
