"""Hand a recorded formal notice to the registered-mail provider, exactly once per key.

Called by ``ChannelActivities.send_registered_letter`` after the outbox row is recorded:

1. the letter row (``registered_letters``, status ``pending``) is committed first, so a
   provider notification that arrives while the letter is being posted finds its letter;
2. attempts for the same key are serialised by a PostgreSQL advisory lock (released if the
   worker dies, with its connection);
3. the row says how far an earlier attempt went, each step committed on its own before the
   next call to the provider: ``creating`` (a sending is being asked for), ``created`` (its
   id is stored, in ``provider_id``), ``submitted``. A retry resumes the stored sending by its
   id; only after a death between ``creating`` and ``created`` does the provider search its
   sendings for the letter's key. Once submitted, a retry does not call the provider at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_requests import ChannelReceipt, ChannelRequest
from activities.letter_layout.stored import printed_pdf
from activities.registered_mail.provider import (
    Letter,
    LetterRejected,
    PostalAddress,
    RegisteredMailError,
    RegisteredMailProvider,
    UnsupportedCountry,
)
from storage.debtor_vault import DebtorVault
from storage.tables import channel_outbox, registered_letters

PENDING = "pending"
CREATING = "creating"
CREATED = "created"
SUBMITTED = "submitted"
REFUSED = "refused"
NOT_SUBMITTED = (PENDING, CREATING, CREATED)
ADVANCEABLE = (*NOT_SUBMITTED, REFUSED)
"""The statuses a posting step may replace (a refusal is retried once the data is fixed)."""


def letter_title(request: ChannelRequest) -> str:
    kind = "Mise en demeure" if request.template.startswith("formal_notice") else "Recommandé"
    invoice = request.context.get("invoice_number", "")
    return f"{kind} {invoice}".strip()


def postal_parts(
    request: ChannelRequest, outbox_row: Any, title: str
) -> tuple[PostalAddress, PostalAddress, bytes]:
    """A posted letter's recipient, sender and PDF, from the letter recorded in the outbox
    (the recorded body and layout stand, as for every channel). The context's
    ``debtor_kind`` ("consumer": a private person) and ``debtor_country`` (ISO 3166 alpha-2,
    default FR) place the address. Shared by registered and simple post."""
    creditor = request.context.get("creditor_name", "") or "Créancier"
    creditor_lines = [
        line for line in request.context.get("creditor_address", "").splitlines() if line.strip()
    ]
    pdf = printed_pdf(
        outbox_row.body,
        outbox_row.layout,
        title=title,
        reference=outbox_row.reference,
        created_at=outbox_row.created_at,
    )
    recipient = PostalAddress(
        request.recipient.name,
        tuple(request.recipient.address_lines),
        country_code=(request.context.get("debtor_country") or "FR").upper(),
        person=request.context.get("debtor_kind") == "consumer",
    )
    return recipient, PostalAddress(creditor, tuple(creditor_lines)), pdf


def build_letter(request: ChannelRequest, outbox_row: Any) -> Letter:
    """The registered letter for ``request`` (``postal_parts``)."""
    title = letter_title(request)
    recipient, sender, pdf = postal_parts(request, outbox_row, title)
    return Letter(
        idempotency_key=request.idempotency_key,
        case_id=request.case_id,
        title=title,
        recipient=recipient,
        sender=sender,
        pdf=pdf,
        document_name=f"{request.step}.pdf",
    )


def history_entry(status: str, source: str, **extra: Any) -> dict[str, Any]:
    """One entry of a posted letter's status history."""
    return {"status": status, "at": datetime.now(UTC).isoformat(), "source": source, **extra}


def current_workflow_id() -> str | None:
    """The workflow of the running activity (None outside one)."""
    return activity.info().workflow_id if activity.in_activity() else None


async def _advance(engine: AsyncEngine, key: str, status: str, source: str, **values: Any) -> None:
    """Commit one step of the letter (under its row lock, so a notification processed at
    the same time keeps its own history entries). A later status is never overwritten."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(registered_letters)
                .where(registered_letters.c.idempotency_key == key)
                .with_for_update()
            )
        ).one()
        extra = {k: v for k, v in values.items() if k in ("provider_id", "reason", "code")}
        changes: dict[str, Any] = {
            "updated_at": datetime.now(UTC),
            "status_history": [*row.status_history, history_entry(status, source, **extra)],
            **{k: v for k, v in values.items() if k in ("provider_id", "submitted_at")},
        }
        if row.status in ADVANCEABLE:
            changes["status"] = status
        await conn.execute(
            update(registered_letters)
            .where(registered_letters.c.idempotency_key == key)
            .values(**changes)
        )


class LetterJournal:
    """``SendJournal`` over the letter's row: each call commits before the provider is
    called again."""

    def __init__(self, engine: AsyncEngine, row: Any, source: str) -> None:
        self._engine = engine
        self._key: str = row.idempotency_key
        self._source = source
        self.known_id: str | None = row.provider_id
        self.maybe_created: bool = row.provider_id is None and any(
            entry.get("status") == CREATING for entry in row.status_history
        )

    async def creating(self) -> None:
        await _advance(self._engine, self._key, CREATING, "activity")
        self.maybe_created = True

    async def created(self, provider_id: str) -> None:
        await _advance(self._engine, self._key, CREATED, self._source, provider_id=provider_id)
        self.known_id = provider_id


async def post_registered_letter(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    request: ChannelRequest,
    receipt: ChannelReceipt,
    vault: DebtorVault | None = None,
) -> ChannelReceipt:
    """Post the letter recorded for ``request`` (``receipt`` is the outbox's) and return a
    receipt whose reference is the provider's sending id. A letter sealed with the debtor's
    data key is opened with ``vault`` (``request`` already holds the debtor's address)."""
    key = request.idempotency_key
    async with engine.connect() as conn:
        outbox_row: Any = (
            await conn.execute(
                select(channel_outbox).where(channel_outbox.c.idempotency_key == key)
            )
        ).one()
        if outbox_row.grouped_in is not None:
            # This invoice went out in its debtor's grouped letter: that one is posted (once,
            # under its own key), never this invoice's alone.
            key = outbox_row.grouped_in
            request = request.model_copy(update={"idempotency_key": key})
            outbox_row = (
                await conn.execute(
                    select(channel_outbox).where(channel_outbox.c.idempotency_key == key)
                )
            ).one()
        if vault is not None:
            body = await vault.open_text(
                conn, request.tenant, request.debtor_id, "outbox", outbox_row.body
            )
            layout = outbox_row.layout
            if layout is not None:
                layout = await vault.open_text(
                    conn, request.tenant, request.debtor_id, "outbox", layout
                )
            outbox_row = SimpleNamespace(**{**outbox_row._mapping, "body": body, "layout": layout})
    letter = build_letter(request, outbox_row)
    async with engine.begin() as conn:
        await conn.execute(
            insert(registered_letters)
            .values(
                idempotency_key=key,
                case_id=request.case_id,
                step=request.step,
                workflow_id=current_workflow_id(),
                provider=provider.name,
                status=PENDING,
                status_history=[history_entry(PENDING, "activity")],
                document_sha256=letter.pdf_sha256,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    async with engine.begin() as lock:  # one attempt at a time per letter
        await lock.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
        row = (
            await lock.execute(
                select(registered_letters).where(registered_letters.c.idempotency_key == key)
            )
        ).one()
        if row.provider_id is not None and row.status not in NOT_SUBMITTED:
            if activity.in_activity():
                activity.logger.info(
                    "registered letter %s already posted as %s %s; not posting again",
                    key,
                    row.provider,
                    row.provider_id,
                )
            return _receipt(receipt, row.provider, row.provider_id, duplicate=True)
        journal = LetterJournal(engine, row, provider.name)
        provider_id = await _send(engine, provider, letter, journal)
        await _advance(
            engine,
            key,
            SUBMITTED,
            provider.name,
            provider_id=provider_id,
            submitted_at=datetime.now(UTC),
        )
    return _receipt(receipt, provider.name, provider_id, duplicate=False)


def refusal_type(err: LetterRejected) -> str:
    """The ``ApplicationError`` type of a refusal (what the workflow's operator task says)."""
    if isinstance(err, UnsupportedCountry):
        return "UnsupportedCountry"
    if err.code.startswith("SENDER_"):
        return "InvalidSender"
    if err.code == "SENDING_LOOKUP_INCONCLUSIVE":
        return "SendingLookupInconclusive"
    if "ADDRESS" in err.code or "COUNTRY" in err.code:
        return "InvalidRecipient"
    return "LetterRejected"


async def _send(
    engine: AsyncEngine, provider: RegisteredMailProvider, letter: Letter, journal: LetterJournal
) -> str:
    try:
        return await provider.send(letter, journal)
    except LetterRejected as err:
        kind = refusal_type(err)
        if journal.known_id is None and not journal.maybe_created:  # nothing exists there
            await _advance(
                engine, letter.idempotency_key, REFUSED, provider.name, reason=str(err), code=kind
            )
        details: list[Any] = []
        if isinstance(err, UnsupportedCountry):
            details = [{"country": err.country_code, "supported": sorted(err.supported)}]
        raise ApplicationError(
            f"{provider.name} refused registered letter {letter.idempotency_key!r}: {err}",
            *details,
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
