"""Follow a posted letter: the provider's notifications (or a poll) bring it up to date.

A notification is only a hint that something changed: the letter's status is read back from
the provider's API with recouvre's own credentials, so a forged or stale notification cannot
put a false date on a case. Each new delivery status is sent to the case's workflow (the
``record_event`` signal with a ``RegisteredLetterStatus``) before the letter row is committed:
if telling the workflow fails, nothing is recorded and the provider's retry does it again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.registered_mail.provider import (
    FINAL_OUTCOMES,
    DeliveryEvent,
    RegisteredMailError,
    RegisteredMailProvider,
)
from activities.registered_mail.tables import (
    registered_letter_proofs,
    registered_letters,
    registered_mail_events,
)
from schemas.case_events import RegisteredLetterStatus

log = logging.getLogger("recouvre.registered_mail")

Signal = Callable[[str | None, str, RegisteredLetterStatus], Awaitable[None]]
"""Tell a case's workflow: (workflow id if known, case id, event)."""


class ProviderNotification(BaseModel):
    """A Maileva notification_center callback body (fields as documented; extra kept)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    """The notification's id, when the provider sends one (used for idempotency)."""
    source: str | None = None
    user_id: str | None = None
    client_id: str | None = None
    event_type: str
    resource_type: str
    event_date: str | None = None
    event_location: str | None = None
    resource_id: str
    resource_location: str | None = None
    resource_custom_id: str | None = None
    resource_custom_data: str | None = None

    @property
    def event_id(self) -> str:
        """The provider's id, else a digest of what identifies the event."""
        if self.id:
            return self.id[:200]
        identity = "|".join(
            [self.event_type, self.resource_type, self.resource_id, self.event_date or ""]
        )
        return "sha256:" + hashlib.sha256(identity.encode()).hexdigest()

    @property
    def sending_id(self) -> str | None:
        """The sending id in ``resource_location`` (.../sendings/<id>[/recipients/<rid>])."""
        parts = (self.resource_location or "").split("/")
        if "sendings" in parts:
            index = parts.index("sendings") + 1
            if index < len(parts) and parts[index]:
                return parts[index]
        return None


@dataclass
class SyncResult:
    idempotency_key: str
    provider_id: str | None
    status: str
    signalled: list[str] = field(default_factory=list)
    """The statuses sent to the workflow now, as "status@YYYY-MM-DD"."""
    proofs: list[str] = field(default_factory=list)
    """The proof kinds stored now."""
    duplicate: bool = False


class LetterNotFound(LookupError):
    """No registered letter matches the notification (yet)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _event_entry(event: DeliveryEvent, provider: str) -> dict[str, Any]:
    return {
        "status": event.outcome,
        "on": event.on.isoformat(),
        "at": event.at.isoformat(),
        "code": event.code,
        "label": event.label,
        "source": provider,
        "signalled": True,
    }


async def sync_letter(
    conn: AsyncConnection, provider: RegisteredMailProvider, signal: Signal, row: Any
) -> SyncResult:
    """Bring the locked letter ``row`` up to date from the provider, inside ``conn``'s
    transaction: new statuses are signalled, new proofs downloaded and hashed."""
    key = row.idempotency_key
    if row.provider_id is None:
        return SyncResult(key, None, row.status)
    current = await provider.status(row.provider_id)
    history: list[dict[str, Any]] = list(row.status_history)
    known = {(entry.get("status"), entry.get("on")) for entry in history if entry.get("on")}
    result = SyncResult(key, row.provider_id, row.status)
    by = f"registered-mail:{provider.name}"
    for event in current.events:
        if (event.outcome, event.on.isoformat()) in known:
            continue
        await signal(
            row.workflow_id,
            row.case_id,
            RegisteredLetterStatus(status=event.outcome, on=event.on, by=by),
        )
        history.append(_event_entry(event, provider.name))
        result.signalled.append(f"{event.outcome}@{event.on.isoformat()}")
    proofs: list[dict[str, Any]] = list(row.proofs)
    stored = {proof.get("kind") for proof in proofs}
    if set(current.proofs_available) - stored:
        for proof in await provider.proofs(row.provider_id):
            if proof.kind in stored:
                continue
            await conn.execute(
                insert(registered_letter_proofs)
                .values(
                    idempotency_key=key,
                    kind=proof.kind,
                    sha256=proof.sha256,
                    media_type=proof.media_type,
                    size=len(proof.content),
                    content=proof.content,
                    source=proof.source,
                )
                .on_conflict_do_nothing()
            )
            proofs.append(
                {
                    "kind": proof.kind,
                    "sha256": proof.sha256,
                    "size": len(proof.content),
                    "media_type": proof.media_type,
                    "source": proof.source,
                    "fetched_at": _now().isoformat(),
                }
            )
            stored.add(proof.kind)
            result.proofs.append(proof.kind)
    status: str
    if current.events:
        status = current.events[-1].outcome
    elif current.rejected:
        status = "rejected"
    elif current.deposited_at is not None:
        status = "deposited"
    else:
        status = row.status
    if status != row.status and not current.events:
        history.append({"status": status, "at": _now().isoformat(), "source": provider.name})
    result.status = status
    await conn.execute(
        update(registered_letters)
        .where(registered_letters.c.idempotency_key == key)
        .values(
            provider_status=current.provider_status,
            provider_recipient_id=current.recipient_id or row.provider_recipient_id,
            registered_number=current.registered_number or row.registered_number,
            status=status,
            status_history=history,
            first_presented_on=row.first_presented_on or current.first_presented_on,
            proofs=proofs,
            updated_at=_now(),
        )
    )
    return result


async def handle_notification(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    signal: Signal,
    notification: ProviderNotification,
) -> SyncResult:
    """Process one provider notification once per event id (raise LetterNotFound when no
    letter matches it: the provider retries later, e.g. while the letter is being posted)."""
    candidates = [notification.resource_id]
    if notification.sending_id:
        candidates.append(notification.sending_id)
    conditions: list[ColumnElement[bool]] = [
        registered_letters.c.provider_id.in_(candidates),
        registered_letters.c.provider_recipient_id.in_(candidates),
    ]
    if notification.resource_custom_data:
        conditions.append(registered_letters.c.idempotency_key == notification.resource_custom_data)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(registered_letters).where(or_(*conditions)).limit(1).with_for_update()
            )
        ).first()
        if row is None:
            raise LetterNotFound(
                f"no registered letter for {notification.resource_type} {notification.resource_id}"
            )
        fresh = (
            await conn.execute(
                insert(registered_mail_events)
                .values(
                    event_id=notification.event_id,
                    provider=provider.name,
                    idempotency_key=row.idempotency_key,
                    event_type=notification.event_type[:64],
                    resource_id=notification.resource_id[:100],
                    payload=notification.model_dump(mode="json"),
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(registered_mail_events.c.event_id)
            )
        ).first()
        if fresh is None:
            return SyncResult(row.idempotency_key, row.provider_id, row.status, duplicate=True)
        return await sync_letter(conn, provider, signal, row)


async def sync_open_letters(
    engine: AsyncEngine, provider: RegisteredMailProvider, signal: Signal, limit: int = 100
) -> list[SyncResult]:
    """Poll the provider for letters not yet at a final status (a fallback for lost
    notifications); each letter in its own transaction."""
    async with engine.connect() as conn:
        keys = (
            await conn.execute(
                select(registered_letters.c.idempotency_key)
                .where(
                    registered_letters.c.provider == provider.name,
                    registered_letters.c.provider_id.is_not(None),
                    registered_letters.c.status.not_in(sorted(FINAL_OUTCOMES | {"rejected"})),
                )
                .order_by(registered_letters.c.updated_at)
                .limit(limit)
            )
        ).scalars()
        pending = list(keys)
    results = []
    for key in pending:
        try:
            async with engine.begin() as conn:
                row = (
                    await conn.execute(
                        select(registered_letters)
                        .where(registered_letters.c.idempotency_key == key)
                        .with_for_update()
                    )
                ).one()
                results.append(await sync_letter(conn, provider, signal, row))
        except RegisteredMailError as err:  # one unreadable letter does not stop the others
            log.warning("registered letter %s not synchronised: %s", key, err)
    return results
