"""Hand a recorded simple letter to the simple-post provider, exactly once per key.

Called by ``ChannelActivities.send_letter`` after the outbox row is recorded, as
``activities/registered_mail/dispatch.py`` is for registered letters:

1. the letter row (``postal_letters``, status ``pending``) is committed first;
2. attempts for the same key are serialised by a PostgreSQL advisory lock (released if the
   worker dies, with its connection);
3. the row says how far an earlier attempt went, each step committed on its own before the
   next call to the provider: ``creating`` (a sending is being asked for), ``created`` (its
   id is stored, in ``provider_id``), ``submitted``. A retry resumes the stored sending by its
   id; only after a death between ``creating`` and ``created`` does the provider search its
   sendings for the letter's key. Once submitted, a retry does not call the provider at all.

A refusal (``refused``: an address or document the provider will not take) is a
non-retryable ``ApplicationError`` and the letter is not submitted; a later attempt (once the
data is fixed) resumes the same draft sending. ``refresh_postal_letter`` reads a submitted
letter's status back (``accepted``, ``processed``, ``rejected``, ``undelivered``).
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
from activities.postal_mail.provider import PostalLetterStatus, PostalMailProvider, SimpleLetter
from activities.registered_mail.dispatch import (
    current_workflow_id,
    history_entry,
    postal_parts,
    refusal_type,
)
from activities.registered_mail.provider import (
    LetterRejected,
    RegisteredMailError,
    UnsupportedCountry,
)
from storage.debtor_vault import ERASED_TEXT, SEALED_PREFIX, DebtorVault
from storage.tables import channel_outbox, postal_letters

PENDING = "pending"
CREATING = "creating"
CREATED = "created"
REFUSED = "refused"
SUBMITTED = "submitted"
ACCEPTED = "accepted"
PROCESSED = "processed"
REJECTED = "rejected"
UNDELIVERED = "undelivered"
NOT_SUBMITTED = (PENDING, CREATING, CREATED, REFUSED)
"""The statuses a posting step may replace (a refusal is retried once the data is fixed)."""
FINAL = (REJECTED, UNDELIVERED)
"""Statuses tracking never moves away from."""

TITLES: dict[str, str] = {"reminder_3": "Dernière relance"}
"""The sending's name at the provider, by template (without its version)."""


def letter_title(request: ChannelRequest) -> str:
    kind = TITLES.get(request.template.partition("@")[0], "Courrier")
    invoice = request.context.get("invoice_number", "")
    return f"{kind} {invoice}".strip()


def build_simple_letter(request: ChannelRequest, outbox_row: Any) -> SimpleLetter:
    """The simple letter for ``request`` (registered_mail/dispatch.py ``postal_parts``)."""
    title = letter_title(request)
    recipient, sender, pdf = postal_parts(request, outbox_row, title)
    return SimpleLetter(
        idempotency_key=request.idempotency_key,
        case_id=request.case_id,
        tenant=request.tenant,
        title=title,
        recipient=recipient,
        sender=sender,
        pdf=pdf,
        document_name=f"{request.step}.pdf",
    )


def _lock_key(key: str) -> str:
    """The advisory lock's name: its own namespace, apart from the registered letters'."""
    return f"postal_letters:{key}"


async def _advance(engine: AsyncEngine, key: str, status: str, source: str, **values: Any) -> None:
    """Commit one posting step of the letter, under its row lock. The status only moves
    while the letter is not submitted; the history keeps every step."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(postal_letters)
                .where(postal_letters.c.idempotency_key == key)
                .with_for_update()
            )
        ).one()
        extra = {
            k: v for k, v in values.items() if k in ("provider_id", "reason", "code", "error_code")
        }
        changes: dict[str, Any] = {
            "updated_at": datetime.now(UTC),
            "status_history": [*row.status_history, history_entry(status, source, **extra)],
            **{k: v for k, v in values.items() if k in ("provider_id", "submitted_at")},
        }
        if row.status in NOT_SUBMITTED:
            changes["status"] = status
        await conn.execute(
            update(postal_letters).where(postal_letters.c.idempotency_key == key).values(**changes)
        )


class PostalLetterJournal:
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


async def _recorded_body(
    engine: AsyncEngine, request: ChannelRequest, vault: DebtorVault | None
) -> Any:
    """The outbox row of ``request`` with its body in clear; a body that cannot be opened
    (no vault, or the debtor erased) is a non-retryable refusal: nothing is posted."""
    async with engine.connect() as conn:
        row: Any = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
        body, layout = row.body, row.layout
        if vault is not None:
            body = await vault.open_text(conn, request.tenant, request.debtor_id, "outbox", body)
            if layout is not None:
                layout = await vault.open_text(
                    conn, request.tenant, request.debtor_id, "outbox", layout
                )
    if body.startswith(SEALED_PREFIX) or body == ERASED_TEXT:
        reason = "sealed and no vault was given" if body != ERASED_TEXT else "erased"
        raise ApplicationError(
            f"simple letter {request.idempotency_key!r}: the recorded letter is {reason}; "
            "nothing was posted",
            type="LetterUnreadable",
            non_retryable=True,
        )
    if layout == ERASED_TEXT:
        layout = None
    return SimpleNamespace(**{**row._mapping, "body": body, "layout": layout})


async def post_simple_letter(
    engine: AsyncEngine,
    provider: PostalMailProvider,
    request: ChannelRequest,
    receipt: ChannelReceipt,
    vault: DebtorVault | None = None,
) -> ChannelReceipt:
    """Post the letter recorded for ``request`` (``receipt`` is the outbox's) and return a
    receipt whose reference is the provider's sending id. A letter sealed with the debtor's
    data key is opened with ``vault`` (``request`` already holds the debtor's address)."""
    async with engine.connect() as conn:
        grouped_in = (
            await conn.execute(
                select(channel_outbox.c.grouped_in).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).scalar_one_or_none()
    if grouped_in is not None:  # posted as the debtor's grouped letter, under its own key
        request = request.model_copy(update={"idempotency_key": grouped_in})
    key = request.idempotency_key
    letter = build_simple_letter(request, await _recorded_body(engine, request, vault))
    async with engine.begin() as conn:
        await conn.execute(
            insert(postal_letters)
            .values(
                idempotency_key=key,
                case_id=request.case_id,
                tenant=request.tenant,
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
        await lock.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(_lock_key(key), 0)))
        )
        row = (
            await lock.execute(
                select(postal_letters).where(postal_letters.c.idempotency_key == key)
            )
        ).one()
        if row.provider_id is not None and row.status not in NOT_SUBMITTED:
            if activity.in_activity():
                activity.logger.info(
                    "simple letter %s already posted as %s %s; not posting again",
                    key,
                    row.provider,
                    row.provider_id,
                )
            return _receipt(receipt, row.provider, row.provider_id, duplicate=True)
        journal = PostalLetterJournal(engine, row, provider.name)
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


async def _send(
    engine: AsyncEngine,
    provider: PostalMailProvider,
    letter: SimpleLetter,
    journal: PostalLetterJournal,
) -> str:
    try:
        return await provider.send(letter, journal)
    except LetterRejected as err:
        kind = refusal_type(err)
        await _advance(
            engine,
            letter.idempotency_key,
            REFUSED,
            provider.name,
            reason=str(err),
            code=kind,
            error_code=err.code,
        )
        details: list[Any] = []
        if isinstance(err, UnsupportedCountry):
            details = [{"country": err.country_code, "supported": sorted(err.supported)}]
        raise ApplicationError(
            f"{provider.name} refused simple letter {letter.idempotency_key!r} "
            f"({err.code or 'no code'}): {err}",
            *details,
            type=kind,
            non_retryable=True,
        ) from err
    except RegisteredMailError as err:
        raise ApplicationError(
            f"{provider.name} unavailable for simple letter {letter.idempotency_key!r}: {err}",
            type="PostalMailUnavailable",
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


def tracked_status(status: PostalLetterStatus) -> str:
    """The row's status for what the provider says of a submitted letter."""
    if status.rejected:
        return REJECTED
    if status.undelivered_at is not None:
        return UNDELIVERED
    if status.posted:
        return PROCESSED
    if status.provider_status == "ACCEPTED":
        return ACCEPTED
    return SUBMITTED


async def refresh_postal_letter(
    engine: AsyncEngine, provider: PostalMailProvider, key: str
) -> PostalLetterStatus | None:
    """Read a submitted letter's status from the provider and record it (None: the letter is
    not submitted, nothing to ask). A refusal after submission becomes ``rejected``."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(postal_letters).where(postal_letters.c.idempotency_key == key)
            )
        ).one()
    if row.provider_id is None or row.status in NOT_SUBMITTED:
        return None
    status = await provider.status(row.provider_id)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(postal_letters)
                .where(postal_letters.c.idempotency_key == key)
                .with_for_update()
            )
        ).one()
        new = row.status if row.status in FINAL else tracked_status(status)
        changes: dict[str, Any] = {"provider_status": status.provider_status}
        if new != row.status:
            extra = {"reason": status.detail} if status.detail else {}
            entry = history_entry(new, provider.name, provider_status=status.provider_status)
            changes |= {
                "status": new,
                "status_history": [*row.status_history, {**entry, **extra}],
                "updated_at": datetime.now(UTC),
            }
        await conn.execute(
            update(postal_letters).where(postal_letters.c.idempotency_key == key).values(**changes)
        )
    return status
