"""Follow a posted letter: the provider's notifications (inbound/registered_mail_notifications.py)
or a poll (``sync_open_letters``) bring it up to date with ``sync_letter``.

A notification is only a hint that something changed: the letter's status is read back from
the provider's API with recouvre's own credentials, so a forged or stale notification cannot
put a false date on a case. Each new delivery status is sent to the case's workflow (the
``record_event`` signal with a ``RegisteredLetterStatus``) before the letter row is committed:
if telling the workflow fails, nothing is recorded and the provider's retry does it again.

A sending the provider will not deliver (rejected, recipient refused, canceled) or holds
(blocked until the account is put right) is classified as a ``LetterAnomaly``: the row's
status says it, ``SyncResult.anomaly`` returns it, and ``report`` (when given) is told once
per new anomaly, like ``signal``, so that the case can open an operator task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.registered_mail.provider import (
    FINAL_OUTCOMES,
    DeliveryEvent,
    LetterAnomaly,
    RegisteredMailError,
    RegisteredMailProvider,
)
from schemas.case_events import RegisteredLetterStatus
from storage.tables import channel_outbox, registered_letter_proofs, registered_letters

log = logging.getLogger("recouvre.registered_mail")

Signal = Callable[[str | None, str, RegisteredLetterStatus], Awaitable[None]]
"""Tell a case's workflow: (workflow id if known, case id, event)."""

FINAL_ANOMALIES: frozenset[str] = frozenset(a.value for a in LetterAnomaly if a.final)
SETTLED: frozenset[str] = FINAL_OUTCOMES | FINAL_ANOMALIES
"""Statuses after which a letter is no longer polled (``blocked`` is polled on)."""


@dataclass(frozen=True)
class LetterProblem:
    """A new anomaly of a posted letter, for the case's operator task."""

    idempotency_key: str
    case_id: str
    workflow_id: str | None
    anomaly: LetterAnomaly
    reason: str
    """``anomaly.reason``: what the operator reads."""
    detail: str
    """The provider's words (statuses, status_detail)."""
    provider_id: str
    provider_status: str


Report = Callable[[LetterProblem], Awaitable[None]]


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
    anomaly: LetterAnomaly | None = None
    """The letter's anomaly now (None: nothing unusual)."""
    anomaly_detail: str = ""
    new_anomaly: bool = False
    """True when this anomaly was found now (and ``report`` told)."""


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
    conn: AsyncConnection,
    provider: RegisteredMailProvider,
    signal: Signal,
    row: Any,
    report: Report | None = None,
) -> SyncResult:
    """Bring the locked letter ``row`` up to date from the provider, inside ``conn``'s
    transaction: new statuses are signalled, new proofs downloaded and hashed, a new
    anomaly classified (and reported)."""
    key = row.idempotency_key
    if row.provider_id is None:
        return SyncResult(key, None, row.status)
    current = await provider.status(row.provider_id)
    targets = await _cases_of(conn, row)
    history: list[dict[str, Any]] = list(row.status_history)
    known = {(entry.get("status"), entry.get("on")) for entry in history if entry.get("on")}
    result = SyncResult(key, row.provider_id, row.status)
    by = f"registered-mail:{provider.name}"
    for event in current.events:
        if (event.outcome, event.on.isoformat()) in known:
            continue
        for workflow_id, case_id in targets:
            await signal(
                workflow_id,
                case_id,
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
    anomaly = current.anomaly
    result.anomaly, result.anomaly_detail = anomaly, current.anomaly_detail
    if anomaly is not None and not any(
        entry.get("status") == anomaly.value and entry.get("detail", "") == current.anomaly_detail
        for entry in history
    ):
        if report is not None:
            for workflow_id, case_id in targets:
                await report(
                    LetterProblem(
                        idempotency_key=key,
                        case_id=case_id,
                        workflow_id=workflow_id,
                        anomaly=anomaly,
                        reason=anomaly.reason,
                        detail=current.anomaly_detail,
                        provider_id=row.provider_id,
                        provider_status=current.provider_status,
                    )
                )
        history.append(
            {
                "status": anomaly.value,
                "at": _now().isoformat(),
                "source": provider.name,
                "reason": anomaly.reason,
                "detail": current.anomaly_detail,
                "reported": report is not None,
            }
        )
        result.new_anomaly = True
    status: str
    if current.events:
        status = current.events[-1].outcome
    elif anomaly is not None:
        status = anomaly.value
    elif current.deposited_at is not None:
        status = "deposited"
    elif row.status == LetterAnomaly.BLOCKED.value:
        status = "submitted"  # the account was put right: the letter goes on
    else:
        status = row.status
    if status != row.status and not current.events and anomaly is None:
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


async def _cases_of(conn: AsyncConnection, row: Any) -> list[tuple[str | None, str]]:
    """Who hears of the letter: its own case, or, for a debtor's grouped letter, each
    invoice's case that went out in it (their rows point to it: ``grouped_in``)."""
    members = (
        await conn.execute(
            select(channel_outbox.c.case_id)
            .where(channel_outbox.c.grouped_in == row.idempotency_key)
            .order_by(channel_outbox.c.case_id)
        )
    ).scalars()
    found: list[tuple[str | None, str]] = [(None, case_id) for case_id in members]
    return found or [(row.workflow_id, row.case_id)]


async def sync_open_letters(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    signal: Signal,
    limit: int = 100,
    report: Report | None = None,
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
                    registered_letters.c.status.not_in(sorted(SETTLED)),
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
                results.append(await sync_letter(conn, provider, signal, row, report))
        except RegisteredMailError as err:  # one unreadable letter does not stop the others
            log.warning("registered letter %s not synchronised: %s", key, err)
    return results
